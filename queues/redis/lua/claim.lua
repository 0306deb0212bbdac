-- claim: lease the head of one team's queue.
-- KEYS: ready, leased, queued, team events, team buckets (hour of now)
-- ARGV: agent, now, lease_until, team, entry key prefix, [bound score, bound sequence]
-- The contact's first claim (no an on its entry) is an answer in the buckets.
-- Reply: 'ok' id queued_at priority; 'empty'; 'worse' when the head scores above the
-- bound (the best head of the other teams the caller looked at: it looks again).
--
-- The head is ZRANGE 0 0 (O(log N)). The entry's key is known only here, from the head's
-- member; it carries this team's tag, so the script stays in one slot.
local agent, now, lease_until, team = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local bound_score, bound_seq = tonumber(ARGV[6]), tonumber(ARGV[7])
while true do
  local head = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  if not head[1] then
    return {'empty'}
  end
  local member, score = head[1], tonumber(head[2])
  local seq, id = string.match(member, '^(%d+):(.*)$')
  if bound_score and (score > bound_score or (score == bound_score and tonumber(seq) > bound_seq)) then
    return {'worse'}
  end
  redis.call('ZREM', KEYS[1], member)
  local key = ARGV[5] .. id
  local entry = load(key)
  if entry and entry.st == 'waiting' then
    redis.call('ZADD', KEYS[2], lease_until, id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('HSET', key, 'st', 'assigned', 'ag', agent, 'aa', now, 'lu', lease_until)
    local wait_s = round6(tonumber(now) - tonumber(entry.qa))
    team_event(key, KEYS[4], id, 'contact_claimed', now, team, agent, {wait_s = wait_s})
    local changes = {[B.waiting_delta] = -1}
    if not entry.an then
      redis.call('HSET', key, 'an', '1')
      changes[B.answered_wait_us] = ended_wait(changes, wait_s, B.answered, B.answered_0)
    end
    bucket_add(KEYS[5], now, entry.ch or '', changes)
    return {'ok', id, entry.qa, entry.pr}
  end
  -- A member whose entry is not waiting cannot be served: it is dropped.
end
