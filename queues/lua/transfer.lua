-- transfer: a waiting contact, or one the agent holds, moves to another team's queue,
-- keeping its arrival time and sequence; a given delay replaces its priority.
-- KEYS: contact, contact events, all events, teams,
--       old ready, old leased, old queued, new ready, new queued
-- ARGV: id, new team, old team, now, agent ('' for none), [delay_s]
local id, team, now, agent = ARGV[1], ARGV[2], ARGV[4], ARGV[5]
local contact = load(KEYS[1])
if not contact then
  return {'notfound'}
end
local refused
if contact.st == 'assigned' then
  refused = not_holder(contact, agent)
elseif contact.st ~= 'waiting' then
  refused = {'state', contact.st}
elseif agent ~= '' then
  refused = {'notholder'}
end
refused = refused or wrong_team(contact, ARGV[3])
if refused then
  return refused
end
local old = contact.tm
redis.call('ZREM', KEYS[5], member_of(contact, id))
redis.call('ZREM', KEYS[6], id)
redis.call('ZREM', KEYS[7], id)
contact.pr = ARGV[6] or contact.pr
redis.call('ZADD', KEYS[8], score_of(contact), member_of(contact, id))
redis.call('ZADD', KEYS[9], contact.qa, id)
redis.call('HSET', KEYS[1], 'st', 'waiting', 'tm', team, 'pr', contact.pr)
redis.call('HDEL', KEYS[1], 'ag', 'aa', 'lu')
redis.call('SADD', KEYS[4], team)
event(KEYS[2], KEYS[3], id, 'contact_transferred', now, team, agent, {from = old})
return {'ok'}
