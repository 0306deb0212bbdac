-- ack: the holder resolves the contact.
-- KEYS: contact, contact events, all events, leased
-- ARGV: id, agent, now, team, [disposition]
local id, now = ARGV[1], ARGV[3]
local contact = load(KEYS[1])
local refused = not_holder(contact, ARGV[2]) or wrong_team(contact, ARGV[4])
if refused then
  return refused
end
local disposition = ARGV[5]
redis.call('ZREM', KEYS[4], id)
if disposition then
  redis.call('HSET', KEYS[1], 'st', 'resolved', 'cl', now, 'dp', disposition)
  redis.call('HDEL', KEYS[1], 'lu')
else
  redis.call('HSET', KEYS[1], 'st', 'resolved', 'cl', now)
  redis.call('HDEL', KEYS[1], 'lu', 'dp')
end
event(KEYS[2], KEYS[3], id, 'contact_resolved', now, contact.tm, contact.ag, {
  disposition = disposition or cjson.null,
  handle_s = round6(tonumber(now) - tonumber(contact.aa)),
})
return {'ok'}
