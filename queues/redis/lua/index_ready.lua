-- index_ready: move what an earlier version kept in a team's combined ready queue (:ready,
-- every waiting member) into the channels' indexes (:ready:<ch>, :ready: for an entry
-- without a channel), once; :ready is gone afterwards. A member whose entry no longer
-- waits is dropped, as a claim would.
-- KEYS: ready
-- ARGV: entry key prefix
-- Reply: the number moved (0 when there was nothing to move).
local n = 0
local members = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #members, 2 do
  local id = string.match(members[i], '^%d+:(.*)$')
  local st, ch = unpack(redis.call('HMGET', ARGV[1] .. id, 'st', 'ch'))
  if st == 'waiting' then
    redis.call('ZADD', KEYS[1] .. ':' .. (ch or ''), members[i + 1], members[i])
    n = n + 1
  end
end
redis.call('DEL', KEYS[1])
return n
