-- claim: lease the head of one team's queue to an agent.
-- KEYS: ready (the base of the channels' indexes), leased, queued, team events, team
--       buckets (hour of now), the agent's held set (:held:<agent>), fences (:fence)
-- ARGV: agent, now, lease_until, team, entry key prefix, bound score, bound sequence ('' ''
--       for none), claim token ('' without capacity), then the channels the agent may take
--       ('*': any)
-- The contact's first claim (no an on its entry) is an answer in the buckets; the agent's
-- held set gets it (their load: capacity.py).
-- Under capacity (a token): refused when a newer claim of the agent counted its load in
-- this team since this one did (the fence holds a newer token). The head is the best of
-- the heads of the channels the agent may take (:ready:<ch>; every channel: '*').
-- Reply: 'ok' id queued_at priority; 'empty'; 'worse' when the head scores above the
-- bound (the best head of the other teams the caller looked at: it looks again);
-- 'fenced' (the caller counts the load again).
--
-- A head is ZRANGE 0 0 (O(log N)) of each of the channels' indexes. The entry's key is
-- known only here, from the head's member; it carries this team's tag, so the script
-- stays in one slot.
local agent, now, lease_until, team = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local bound_score, bound_seq = tonumber(ARGV[6]), tonumber(ARGV[7])
if ARGV[8] ~= '' then
  local token = tonumber(ARGV[8])
  local fence = tonumber(redis.call('HGET', KEYS[7], agent) or '0')
  if fence > token then
    return {'fenced'}
  end
  if fence < token then
    redis.call('HSET', KEYS[7], agent, ARGV[8])
  end
end
local channels = {unpack(ARGV, 9)}
if ARGV[9] == '*' then
  channels = READY_CHANNELS
end
local sources = {}
for i, channel in ipairs(channels) do
  sources[i] = KEYS[1] .. ':' .. channel
end

-- The best head among the sources: member, score, sequence, source (nil when all are
-- empty).
local function best_head()
  local best, best_score, best_seq, best_source
  for _, source in ipairs(sources) do
    local head = redis.call('ZRANGE', source, 0, 0, 'WITHSCORES')
    if head[1] then
      local score, seq = tonumber(head[2]), tonumber(string.match(head[1], '^(%d+):'))
      if not best or score < best_score or (score == best_score and seq < best_seq) then
        best, best_score, best_seq, best_source = head[1], score, seq, source
      end
    end
  end
  return best, best_score, best_seq, best_source
end

while true do
  local member, score, seq, source = best_head()
  if not member then
    return {'empty'}
  end
  if bound_score and (score > bound_score or (score == bound_score and seq > bound_seq)) then
    return {'worse'}
  end
  redis.call('ZREM', source, member)
  local id = string.match(member, '^%d+:(.*)$')
  local key = ARGV[5] .. id
  local entry = load(key)
  if entry and entry.st == 'waiting' then
    redis.call('ZADD', KEYS[2], lease_until, id)
    redis.call('ZREM', KEYS[3], id)
    redis.call('HSET', key, 'st', 'assigned', 'ag', agent, 'aa', now, 'lu', lease_until)
    -- Claims without capacity keep the held set small: pruned once every 64 new members
    -- past 64 (an agent's last hour of resolves stays: each pass is amortised over 64).
    if redis.call('SADD', KEYS[6], id) == 1 then
      local held = redis.call('SCARD', KEYS[6])
      if held > 64 and held % 64 == 1 then
        count_held(KEYS[6], ARGV[5], agent, tonumber(now), 0)
      end
    end
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
