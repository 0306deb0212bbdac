-- post_parcel: put a parcel at the end of its group's line unless its id was posted
-- within keep_s; the first of a line is due at once, the others when the one before them
-- is settled.
-- KEYS: due (zset: id -> due_at, heads of lines only), payloads (hash: id -> JSON),
--       attempts (hash: id -> n), posted (hash: id -> posted_at), known (zset: id ->
--       forget_at, pending or settled), groups (hash: id -> group)
-- ARGV: id, now, payload (JSON), forget_at, group, line key prefix
redis.call('ZREMRANGEBYSCORE', KEYS[5], '-inf', ARGV[2])
if redis.call('ZSCORE', KEYS[5], ARGV[1]) or redis.call('HEXISTS', KEYS[2], ARGV[1]) == 1 then
  return {'known'}
end
redis.call('ZADD', KEYS[5], ARGV[4], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[1], ARGV[3])
redis.call('HSET', KEYS[3], ARGV[1], 0)
redis.call('HSET', KEYS[4], ARGV[1], ARGV[2])
redis.call('HSET', KEYS[6], ARGV[1], ARGV[5])
if redis.call('RPUSH', ARGV[6] .. ARGV[5], ARGV[1]) == 1 then
  redis.call('ZADD', KEYS[1], ARGV[2], ARGV[1])
end
return {'ok'}
