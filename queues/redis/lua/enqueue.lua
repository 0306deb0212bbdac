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
queue_entry(KEYS, id, team, delay, now, channel)
local out = append_pairs({'ok', 0}, load(KEYS[1]))
out[2] = #out - 2
return append_pairs(out, flow or {})
