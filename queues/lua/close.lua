-- close: end an in_flow contact without queueing it (resolved or abandoned).
-- KEYS: contact, contact events, all events
-- ARGV: id, final state, '1' when that state is final, reason, now
local id, state, now = ARGV[1], ARGV[2], ARGV[5]
local contact = load(KEYS[1])
if not contact then
  return {'notfound'}
end
if contact.st ~= 'in_flow' or ARGV[3] ~= '1' then
  return {'state', contact.st}
end
redis.call('HSET', KEYS[1], 'st', state, 'cl', now)
contact.st, contact.cl = state, now
local kind = state == 'resolved' and 'contact_resolved' or 'contact_abandoned'
event(KEYS[2], KEYS[3], id, kind, now, contact.tm, contact.ag, {reason = ARGV[4]})
return reply('ok', contact)
