-- update_contact: change flow fields (the caller checked they are updatable).
-- KEYS: flow
-- ARGV: number of field/value pairs to set, the pairs, then fields to delete
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
local n = tonumber(ARGV[1])
if n > 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2, 1 + 2 * n))
end
if #ARGV > 1 + 2 * n then
  redis.call('HDEL', KEYS[1], unpack(ARGV, 2 + 2 * n))
end
return reply('ok', load(KEYS[1]))
