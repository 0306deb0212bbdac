-- take_parcels: take due parcels (earliest due first), each hidden for the lease and its
-- attempts counted; with ids, only those of them that are due.
-- KEYS: due, payloads, attempts, posted
-- ARGV: now, lease_until, limit, ids...
-- Reply: 'ok', then id, payload, attempts, posted_at for each parcel taken
local now, lease_until, limit = tonumber(ARGV[1]), ARGV[2], tonumber(ARGV[3])
local ids = {}
if #ARGV > 3 then
  for i = 4, #ARGV do
    local due = redis.call('ZSCORE', KEYS[1], ARGV[i])
    if due and tonumber(due) <= now and #ids < limit then
      ids[#ids + 1] = ARGV[i]
    end
  end
else
  ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, limit)
end
local taken = {'ok'}
for _, id in ipairs(ids) do
  local payload = redis.call('HGET', KEYS[2], id)
  if payload then
    redis.call('ZADD', KEYS[1], lease_until, id)
    taken[#taken + 1] = id
    taken[#taken + 1] = payload
    taken[#taken + 1] = tostring(redis.call('HINCRBY', KEYS[3], id, 1))
    taken[#taken + 1] = redis.call('HGET', KEYS[4], id)
  else
    redis.call('ZREM', KEYS[1], id)
  end
end
return taken
