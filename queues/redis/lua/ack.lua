-- ack: the holder resolves the contact.
-- KEYS: entry, leased, team events, team buckets (hour of now), team handles
-- ARGV: id, agent, now, team, wrap_s (after-contact work that follows; '0' for none),
--       [disposition]
-- The wrap-up is recorded with the resolve: the event's wrap_s (when over 0), the
-- bucket's wrap_us, and in the handle time the wait estimate reads (:handles).
local id, now = ARGV[1], ARGV[3]
local entry = load(KEYS[1])
local refused = gone(entry) or not_holder(entry, ARGV[2])
if refused then
  return refused
end
local wrap_s = round6(tonumber(ARGV[5]))
local disposition = ARGV[6]
redis.call('ZREM', KEYS[2], id)
if disposition then
  redis.call('HSET', KEYS[1], 'st', 'resolved', 'cl', now, 'dp', disposition)
  redis.call('HDEL', KEYS[1], 'lu')
else
  redis.call('HSET', KEYS[1], 'st', 'resolved', 'cl', now)
  redis.call('HDEL', KEYS[1], 'lu', 'dp')
end
local handle_s = round6(tonumber(now) - tonumber(entry.aa))
local data = {disposition = disposition or cjson.null, handle_s = handle_s}
if wrap_s > 0 then
  data.wrap_s = wrap_s
end
team_event(KEYS[1], KEYS[3], id, 'contact_resolved', now, ARGV[4], entry.ag, data)
bucket_add(KEYS[4], now, entry.ch or '', {
  [B.resolved] = 1,
  [B.handle_us] = microseconds(handle_s),
  [B.wrap_us] = microseconds(wrap_s),
})
local handled = string.format('%.17g', round6(handle_s + wrap_s))
redis.call('LPUSH', KEYS[5], now .. ' ' .. handled)
redis.call('LTRIM', KEYS[5], 0, RECENT_HANDLES - 1)
return {'ok'}
