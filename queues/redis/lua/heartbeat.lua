-- heartbeat: the holder extends its lease.
-- KEYS: entry, leased
-- ARGV: id, agent, lease_until
-- Reply: 'ok' queued_at priority.
local entry = load(KEYS[1])
local refused = gone(entry) or not_holder(entry, ARGV[2])
if refused then
  return refused
end
redis.call('HSET', KEYS[1], 'lu', ARGV[3])
redis.call('ZADD', KEYS[2], 'XX', ARGV[3], ARGV[1])
return {'ok', entry.qa, entry.pr}
