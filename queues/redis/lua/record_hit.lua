-- record_hit: count one hit in a sliding window and say how many the window holds.
-- KEYS: hits (zset: unique member -> time)
-- ARGV: now, member (unique per hit, or the hit's tag: a tag the window holds is not
--       counted again and keeps its time), cutoff (now - window; hits at or before it
--       drop), ttl in milliseconds
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[3])
redis.call('ZADD', KEYS[1], 'NX', ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[4])
return {'ok', redis.call('ZCARD', KEYS[1])}
