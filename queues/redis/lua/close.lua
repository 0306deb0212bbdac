-- close: end an in_flow contact without queueing it (resolved or abandoned).
-- KEYS: flow, history, shard events
-- ARGV: id, final state, '1' when that state is final, reason, now
-- Reply: 'ok' + flow pairs; 'queued' <team> when it was handed to a team (its state is
-- there); 'state' <state>; 'notfound'.
local id, state, now = ARGV[1], ARGV[2], ARGV[5]
local flow = load(KEYS[1])
if not flow then
  return {'notfound'}
end
if flow.q then
  return {'queued', flow.q}
end
local current = flow.st or 'in_flow'
if current ~= 'in_flow' or ARGV[3] ~= '1' then
  return {'state', current}
end
redis.call('HSET', KEYS[1], 'st', state, 'cl', now)
flow.st, flow.cl = state, now
local kind = state == 'resolved' and 'contact_resolved' or 'contact_abandoned'
contact_event(KEYS[2], KEYS[3], id, kind, now, '', '', {reason = ARGV[4]})
return reply('ok', flow)
