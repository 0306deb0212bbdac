-- reserved: the team entry of a pending hand-over exists; it is no longer pending.
-- KEYS: flow, shard pending
-- ARGV: id
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('HDEL', KEYS[1], 'qa', 'pr')
return {'ok'}
