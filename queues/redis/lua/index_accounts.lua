-- index_accounts: index by account (:acct:<login>) the contacts of a shard that an earlier
-- version kept, a page at a time, once; intake and update_contact keep the index since.
-- Contacts are only ever added to the lists walked, never taken out, so an offset walk
-- misses none (one added meanwhile is indexed by its own script).
-- KEYS: the shard's progress hash (:acct-indexed), then the shard's contact lists
--       (:all:<channel> ..., :all)
-- ARGV: the shard's flow key prefix (:c:), its account index prefix (:acct:), page size
-- Reply: 'done' when the shard is indexed, else 'more'
if redis.call('HGET', KEYS[1], 'done') then
  return {'done'}
end
local page = tonumber(ARGV[3])
for k = 2, #KEYS do
  local list = KEYS[k]
  local at = tonumber(redis.call('HGET', KEYS[1], list) or '0')
  if at >= 0 then
    local members = redis.call('ZRANGE', list, at, at + page - 1)
    for _, id in ipairs(members) do
      local fields = redis.call('HMGET', ARGV[1] .. id, 'ac', 'ca')
      if fields[1] and fields[2] then
        redis.call('ZADD', ARGV[2] .. fields[1], fields[2], id)
      end
    end
    if #members < page then
      redis.call('HSET', KEYS[1], list, -1) -- this list is done
    else
      redis.call('HSET', KEYS[1], list, at + page)
      return {'more'}
    end
  end
end
redis.call('HSET', KEYS[1], 'done', '1')
return {'done'}
