-- post_parcel: put a parcel in the outbox unless its id was posted within keep_s.
-- KEYS: due (zset: id -> due_at), payloads (hash: id -> JSON), attempts (hash: id -> n),
--       posted (hash: id -> posted_at), known (zset: id -> forget_at, pending or settled)
-- ARGV: id, now, payload (JSON), forget_at
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[5], ARGV[1]) or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return {'known'}
end
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], 0)
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
return {'ok'}
