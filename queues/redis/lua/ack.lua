-- ack: the holder resolves the contact.
-- KEYS: entry, leased, team events, team buckets (hour of now), team handles
-- ARGV: id, agent, now, team, [disposition]
local id, now = ARGV[1], ARGV[3]
local entry = load(KEYS[1])
local refused = gone(entry) or not_holder(entry, ARGV[2])
if refused then
  return refused
end
local disposition = ARGV[5]
redis.call('ZREM', KEYS[2], id)
if disposition then
  redis.call('HSET', KEYS[1], 'st', 'resolved', 'cl', now, 'dp', disposition)
  redis.call('HDEL', KEYS[1], 'lu')
else
  redis.call('HSET', KEYS[1], 'st', 'resolved', 'cl', now)
  redis.call('HDEL', KEYS[1], 'lu', 'dp')
end
local handle_s = round6(tonumber(now) - tonumber(entry.aa))
team_event(KEYS[1], KEYS[3], id, 'contact_resolved', now, ARGV[4], entry.ag, {
  disposition = disposition or cjson.null,
  handle_s = handle_s,
})
bucket_add(KEYS[4], now, entry.ch or '', {[B.resolved] = 1, [B.handle_us] = microseconds(handle_s)})
redis.call('LPUSH', KEYS[5], now .. ' ' .. string.format('%.17g', handle_s))
redis.call('LTRIM', KEYS[5], 0, RECENT_HANDLES - 1)
return {'ok'}
