-- settle_parcel: the holder (its attempts count fences it) is done with a parcel, or puts
-- it back due at a later time.
-- KEYS: due, payloads, attempts, posted
-- ARGV: id, attempts, due_at ("" to settle: out of the outbox, its id still known)
if redis.call('HGET', KEYS[3], ARGV[1]) ~= ARGV[2] then
  return {'stale'}
end
if ARGV[3] == '' then
  redis.call('HDEL', KEYS[2], ARGV[1])
  redis.call('HDEL', KEYS[3], ARGV[1])
  redis.call('HDEL', KEYS[4], ARGV[1])
  redis.call('ZREM', KEYS[1], ARGV[1])
else
  redis.call('ZADD', KEYS[1], ARGV[3], ARGV[1])
end
return {'ok'}
