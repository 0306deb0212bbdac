-- enqueue: create a waiting entry in a team's queue.
-- KEYS: entry, ready, queued, sequence, team events, team buckets (hour of queued_at), [flow]
-- ARGV: id, team, delay_s, queued_at, [channel]
-- With the flow record in KEYS (one Redis, not a cluster) the in_flow check and the
-- hand-over mark (q) happen in the same step, and the channel comes from it. Without it
-- (cluster mode: 'reserve' ran on the contact's shard first, or a repair finishes a pending
-- hand-over) an existing entry means the hand-over was done already.
-- Reply: 'ok' <count> entry pairs (count values), then flow pairs; 'exists'; 'notfound';
-- 'queued' <team>; 'state' <state>.
local id, team, delay, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local flow
local channel = ARGV[5] or ''
if KEYS[7] then
  flow = load(KEYS[7])
  if not flow then
    return {'notfound'}
  end
  if flow.q then
    return {'queued', flow.q}
  end
  if (flow.st or 'in_flow') ~= 'in_flow' then
    return {'state', flow.st}
  end
  channel = flow.ch or channel
end
if redis.call('EXISTS', KEYS[1]) == 1 then
  return {'exists'}
end
if flow then
  redis.call('HSET', KEYS[7], 'q', team)
  flow.q = team
end
local entry = {st = 'waiting', pr = delay, qa = now, ch = channel}
entry.sq = string.format('%d', redis.call('INCR', KEYS[4]))
redis.call('HSET', KEYS[1], 'st', 'waiting', 'pr', delay, 'qa', now, 'sq', entry.sq, 'ch', channel)
ready_add(KEYS[2], entry, id)
redis.call('ZADD', KEYS[3], now, id)
team_event(KEYS[1], KEYS[5], id, 'contact_enqueued', now, team, '', {delay_s = tonumber(delay)})
bucket_add(KEYS[6], now, channel, {[B.offered] = 1, [B.waiting_delta] = 1})
local out = append_pairs({'ok', 0}, load(KEYS[1]))
out[2] = #out - 2
return append_pairs(out, flow or {})
