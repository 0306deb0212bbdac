-- remove: the customer gave up; an in_flow or waiting contact becomes abandoned.
-- KEYS: contact, contact events, all events, ready, queued
-- ARGV: id, now, team
local id, now = ARGV[1], ARGV[2]
local contact = load(KEYS[1])
if not contact then
  return {'notfound'}
end
local data
if contact.st == 'in_flow' then
  data = {reason = 'left in flow'}
elseif contact.st == 'waiting' then
  local refused = wrong_team(contact, ARGV[3])
  if refused then
    return refused
  end
  redis.call('ZREM', KEYS[4], member_of(contact, id))
  redis.call('ZREM', KEYS[5], id)
  data = {wait_s = round6(tonumber(now) - tonumber(contact.qa))}
else
  return {'state', contact.st}
end
redis.call('HSET', KEYS[1], 'st', 'abandoned', 'cl', now)
event(KEYS[2], KEYS[3], id, 'contact_abandoned', now, contact.tm, contact.ag, data)
return {'ok'}
