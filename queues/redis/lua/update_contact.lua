-- update_contact: change flow fields (the caller checked they are updatable).
-- KEYS: flow
-- ARGV: number of field/value pairs to set, the pairs, then fields to delete, which are
--       deleted first ('m:*' deletes every meta field m:<key>)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
local n = tonumber(ARGV[1])
local gone = {}
for i = 2 + 2 * n, #ARGV do
  if ARGV[i] == 'm:*' then
    for _, field in ipairs(redis.call('HKEYS', KEYS[1])) do
      if string.sub(field, 1, 2) == 'm:' then
        gone[#gone + 1] = field
      end
    end
  else
    gone[#gone + 1] = ARGV[i]
  end
end
if #gone > 0 then
  redis.call('HDEL', KEYS[1], unpack(gone))
end
if n > 0 then
  redis.call('HSET', KEYS[1], unpack(ARGV, 2, 1 + 2 * n))
end
return reply('ok', load(KEYS[1]))
