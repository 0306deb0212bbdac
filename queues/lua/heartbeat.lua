-- heartbeat: the holder extends its lease.
-- KEYS: contact, leased
-- ARGV: id, agent, lease_until, team
-- Reply: 'ok' team queued_at priority.
local id, lease_until = ARGV[1], ARGV[3]
local contact = load(KEYS[1])
local refused = not_holder(contact, ARGV[2]) or wrong_team(contact, ARGV[4])
if refused then
  return refused
end
redis.call('HSET', KEYS[1], 'lu', lease_until)
redis.call('ZADD', KEYS[2], 'XX', lease_until, id)
return {'ok', contact.tm, contact.qa, contact.pr}
