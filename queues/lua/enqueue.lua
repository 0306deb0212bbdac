-- enqueue: an in_flow contact starts waiting in a team's queue.
-- KEYS: contact, contact events, all events, sequence, teams, ready, queued
-- ARGV: id, team, delay_s, now
local id, team, delay, now = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local contact = load(KEYS[1])
if not contact then
  return {'notfound'}
end
if contact.st ~= 'in_flow' then
  return {'state', contact.st}
end
contact.sq = string.format('%012d', redis.call('INCR', KEYS[4]))
contact.st, contact.tm, contact.qa, contact.pr = 'waiting', team, now, delay
redis.call('HSET', KEYS[1], 'st', 'waiting', 'tm', team, 'pr', delay, 'qa', now,
  'sq', contact.sq)
redis.call('ZADD', KEYS[6], score_of(contact), member_of(contact, id))
redis.call('ZADD', KEYS[7], now, id)
redis.call('SADD', KEYS[5], team)
event(KEYS[2], KEYS[3], id, 'contact_enqueued', now, team, contact.ag,
  {delay_s = tonumber(delay)})
return reply('ok', contact)
