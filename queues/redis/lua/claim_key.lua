-- claim_key: the first to store under an idempotency key of a group (a call's steps, a
-- chat's frames) wins; later ones get what it stored. The group's hash lives for ttl ms
-- after its last new key.
-- KEYS: the group's hash
-- ARGV: field (the key's last part), value, ttl ms
-- Reply: {the value stored before}, or {} when this one is now stored
local seen = redis.call('HGET', KEYS[1], ARGV[1])
if seen then
  return {seen}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[3])
return {}
