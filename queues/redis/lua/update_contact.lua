-- update_contact: change flow fields (the caller checked they are updatable), and keep the
-- shard's index by account when the account changes.
-- KEYS: flow, the shard's account index prefix (:acct:, the login follows)
-- ARGV: the meta guard: '' for none; for a merge of meta keys, '-' or the 'mt' (an earlier
--       version's meta as one JSON) the caller read; then the number of pairs m:<key> ->
--       value that 'mt' becomes, and the pairs; then the number of field/value pairs to
--       set, the pairs, then fields to delete, which are deleted first ('m:*' deletes every
--       meta field m:<key>)
-- Reply: 'ok' + flow pairs, 'notfound', or 'legacy' + 'mt' when a merge finds an 'mt' other
--        than the one given: the caller splits it into pairs and asks again
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
local legacy = redis.call('HGET', KEYS[1], 'mt')
local guard, m = ARGV[1], tonumber(ARGV[2])
if guard ~= '' and legacy then
  if legacy ~= guard then
    return {'legacy', legacy}
  end
  -- A merge: 'mt' becomes m:<key> fields first, so a key it removes is gone from both (an
  -- m:<key> written since stays: it reads over 'mt' too).
  for i = 3, 2 + 2 * m, 2 do
    redis.call('HSETNX', KEYS[1], ARGV[i], ARGV[i + 1])
  end
  redis.call('HDEL', KEYS[1], 'mt')
end
local first = 3 + 2 * m
local before = redis.call('HGET', KEYS[1], 'ac') or nil -- nil, not false, when absent
local n = tonumber(ARGV[first])
local gone = {}
for i = first + 1 + 2 * n, #ARGV do
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
  redis.call('HSET', KEYS[1], unpack(ARGV, first + 1, first + 2 * n))
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
