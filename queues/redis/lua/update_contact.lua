-- update_contact: change flow fields (the caller checked they are updatable), and keep the
-- shard's index by account when the account changes.
-- KEYS: flow, the shard's account index prefix (:acct:, the login follows)
-- ARGV: number of field/value pairs to set, the pairs, then fields to delete, which are
--       deleted first ('m:*' deletes every meta field m:<key>)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
local before = redis.call('HGET', KEYS[1], 'ac') or nil -- nil, not false, when absent
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
local flow = load(KEYS[1])
if KEYS[2] and flow.ac ~= before then
  local id = string.match(KEYS[1], '}:c:(.+)$') -- the flow key is <shard tag>:c:<id>
  if before then
    redis.call('ZREM', KEYS[2] .. before, id)
  end
  if flow.ac then
    redis.call('ZADD', KEYS[2] .. flow.ac, flow.ca, id)
  end
end
return reply('ok', flow)
