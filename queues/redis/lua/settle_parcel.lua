-- settle_parcel: the holder (its attempts count fences it) is done with a parcel, and the
-- next of its line is due now; or it puts the parcel back, due at a later time.
-- KEYS: due, payloads, attempts, posted, groups
-- ARGV: id, attempts, due_at ("" to settle: out of the outbox, its id still known), now,
--       line key prefix
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  return {'stale'}
end
if ARGV[3] ~= '' then
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
  return {'ok'}
end
local line = ARGV[5] .. (redis.call('HGET', KEYS[5], ARGV[1]) or '')
for i = 2, 5 do
  redis.call('HDEL', KEYS[i], ARGV[1])
end
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('LREM', line, 1, ARGV[1])
local next_id = redis.call('LINDEX', line, 0)
if next_id then
  redis.call('ZADD', KEYS[1], ARGV[4], next_id)
end
return {'ok'}
