-- claim: lease the lowest-score waiting contact across the given teams.
-- KEYS: all events, then per team: ready, leased, queued
-- ARGV: agent, now, lease_until, contact key prefix, contact events key prefix, teams...
-- Reply: 'ok' id team queued_at priority, or 'empty'.
--
-- Each team's head is ZRANGE 0 0 (O(log N)); the lowest (score, sequence) wins. The
-- chosen contact's keys cannot be known before the script runs, so they are built here
-- from the prefixes: the one script whose keys are not all in KEYS.
local agent, now, lease_until = ARGV[1], ARGV[2], ARGV[3]
local best, best_score, best_seq, best_member
for i = 6, #ARGV do
  local ready = KEYS[2 + (i - 6) * 3]
  local head = redis.call('ZRANGE', ready, 0, 0, 'WITHSCORES')
  if head[1] then
    local score = tonumber(head[2])
    local seq = tonumber(string.match(head[1], '^(%d+):'))
    if not best or score < best_score or (score == best_score and seq < best_seq) then
      best, best_score, best_seq, best_member = i, score, seq, head[1]
    end
  end
end
if not best then
  return {'empty'}
end
local base = 2 + (best - 6) * 3
local team = ARGV[best]
local id = string.sub(best_member, string.find(best_member, ':', 1, true) + 1)
local key = ARGV[4] .. id
redis.call('ZREM', KEYS[base], best_member)
redis.call('ZADD', KEYS[base + 1], lease_until, id)
redis.call('ZREM', KEYS[base + 2], id)
redis.call('HSET', key, 'st', 'assigned', 'ag', agent, 'aa', now, 'lu', lease_until)
local queued_at, priority = unpack(redis.call('HMGET', key, 'qa', 'pr'))
event(ARGV[5] .. id, KEYS[1], id, 'contact_claimed', now, team, agent,
  {wait_s = round6(tonumber(now) - tonumber(queued_at))})
return {'ok', id, team, queued_at, priority}
