-- move_out: the first step of a transfer, on the source team. A waiting contact, or one
-- the agent holds, leaves this team's queue and its entry is marked moving (mv: where to,
-- mo: the move's token); the transfer event is recorded here. 'move_in' then creates the
-- destination's entry and 'moved' turns this one into a tombstone. Whoever finds an entry
-- moving (a reader, or the reaper through :moving) finishes the move, so a crash between
-- the steps leaves the contact waiting in the destination, never lost.
-- A transfer to the same team happens here, in one step.
-- KEYS: entry, ready, leased, queued, moving, team events, team buckets (hour of now)
-- ARGV: id, team, destination, now, agent ('' for none), token, [delay_s]
-- Buckets: a waiting contact leaves this queue (- 1) unless it comes back to it; one an
-- agent held comes back (+ 1) when this is its destination ('move_in' counts the others).
-- Reply: 'ok' + entry pairs (moving); 'here' (same team, done).
local id, team, dest, now, agent = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local entry = load(KEYS[1])
local refused = gone(entry)
if not refused then
  if entry.st == 'assigned' then
    refused = not_holder(entry, agent)
  elseif entry.st ~= 'waiting' then
    refused = {'state', entry.st}
  elseif agent ~= '' then
    refused = {'notholder'}
  end
end
if refused then
  return refused
end
local was_waiting = entry.st == 'waiting'
ready_rem(KEYS[2], entry, id)
redis.call('ZREM', KEYS[3], id)
redis.call('ZREM', KEYS[4], id)
redis.call('HDEL', KEYS[1], 'ag', 'aa', 'lu')
entry.ag, entry.aa, entry.lu = nil, nil, nil
if ARGV[7] then
  entry.pr = ARGV[7]
end
local data = {from = team}
if dest == team then
  entry.st = 'waiting'
  redis.call('HSET', KEYS[1], 'st', 'waiting', 'pr', entry.pr)
  ready_add(KEYS[2], entry, id)
  redis.call('ZADD', KEYS[4], entry.qa, id)
  team_event(KEYS[1], KEYS[6], id, 'contact_transferred', now, dest, agent, data)
  if not was_waiting then
    bucket_add(KEYS[7], now, entry.ch or '', {[B.waiting_delta] = 1})
  end
  return {'here'}
end
if was_waiting then
  bucket_add(KEYS[7], now, entry.ch or '', {[B.waiting_delta] = -1})
end
redis.call('HSET', KEYS[1], 'st', 'moving', 'pr', entry.pr, 'mv', dest, 'mo', ARGV[6], 'ma', now)
redis.call('ZADD', KEYS[5], now, id)
team_event(KEYS[1], KEYS[6], id, 'contact_transferred', now, dest, agent, data)
return reply('ok', load(KEYS[1]))
