-- release: the holder puts the contact back with its original score.
-- KEYS: contact, contact events, all events, ready, leased, queued
-- ARGV: id, agent, now, team
local id, agent, now = ARGV[1], ARGV[2], ARGV[3]
local contact = load(KEYS[1])
local refused = not_holder(contact, agent) or wrong_team(contact, ARGV[4])
if refused then
  return refused
end
requeue(KEYS[1], contact, id, KEYS[4], KEYS[5], KEYS[6])
event(KEYS[2], KEYS[3], id, 'contact_released', now, contact.tm, agent, {})
return {'ok'}
