-- claim_key: the first to store under an idempotency key of a group (a call's steps, a
-- chat's frames) wins; later ones get what it stored (idem.py). The group's hash lives for
-- ttl ms after its last new key.
-- KEYS: the group's hash
-- ARGV: field (the key's last part), contact id, the value when the group names that
--       contact, the full value ("<contact id> <message id>"), ttl ms
-- Reply: {the value stored before, the contact the group names ('' none)}, or {} when
-- this one is now stored
local seen = redis.call('HGET', KEYS[1], ARGV[1])
if seen then
  return {seen, redis.call('HGET', KEYS[1], ':c') or ''}
end
idem_put(KEYS[1], ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5])
return {}
