-- reserve: the first half of enqueue in cluster mode, on the contact's shard. An in_flow
-- contact is handed to a team: q is set (so close and a second enqueue refuse) with the
-- queued_at and delay to create the team entry with, and the hand-over is pending until
-- 'reserved' confirms it. Whoever finds it pending finishes it (the team script is
-- idempotent), so a crash between the two halves leaves it waiting, never lost.
-- KEYS: flow, shard pending
-- ARGV: id, team, delay_s, now
-- Reply: 'ok' + flow pairs; 'queued' <team> <queued_at or ''> <delay or ''> <channel>;
-- 'state'; 'notfound'.
local flow = load(KEYS[1])
if not flow then
  return {'notfound'}
end
if flow.q then
  return {'queued', flow.q, flow.qa or '', flow.pr or '', flow.ch or ''}
end
if (flow.st or 'in_flow') ~= 'in_flow' then
  return {'state', flow.st}
end
redis.call('HSET', KEYS[1], 'q', ARGV[2], 'qa', ARGV[4], 'pr', ARGV[3])
redis.call('ZADD', KEYS[2], ARGV[4], ARGV[1])
flow.q = ARGV[2]
return reply('ok', flow)
