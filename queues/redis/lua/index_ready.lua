-- index_ready: index a team's waiting contacts by channel (:ready:<ch>), once. Every
-- script that adds to :ready adds to its channel's index too (ready_add); this indexes
-- what a version before that left waiting.
-- KEYS: ready, the indexed mark (:ready:v)
-- ARGV: entry key prefix
-- Reply: the number indexed (0 when the team was indexed before).
if redis.call('EXISTS', KEYS[2]) == 1 then
  return 0
end
local n = 0
local members = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  local id = string.match(members[i], '^%d+:(.*)$')
  local ch = redis.call('HGET', ARGV[1] .. id, 'ch')
  if ch and ch ~= '' then
    redis.call('ZADD', KEYS[1] .. ':' .. ch, members[i + 1], members[i])
    n = n + 1
  end
end
redis.call('SET', KEYS[2], '1')
return n
