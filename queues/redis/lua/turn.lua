-- turn: an inbound message of a contact in its flow with everything it changes, whole or
-- not at all (queues/turns.py). One Redis only: the session and idempotency keys are not
-- in the contact's shard (on a cluster the store applies a turn step by step).
-- KEYS: 1-8 intake's (flow, history, keyed index, shard contacts, shard address index,
--       shard events, shard buckets, the shard's account index prefix), 9 the session,
--       10 the lock that must be free ('' none), 11 the idempotency key ('' none: a string,
--       or the group's hash), 12... the other sessions that must keep their tags
-- ARGV: 1 id, 2 now, 3 message JSON, 4 message id, 5 '1' when keyed, 6 the session's tag
--       as read ('' none), 7 the new session value, 8 its ttl ms, 9 the idempotency field
--       ('' for a string key), 10 its value, 11 its value in a group that names the
--       contact (idem_put), 12 its ttl ms, 13 '1' when the turn creates the contact, 14
--       its language after the turn ('' unchanged), 15 the number n of prompts said, 16
--       the number m of other sessions, then the n prompts' JSON, the m sessions' tags
--       ('' none), then the new contact's flow pairs
-- Reply: 'ok' + flow pairs; 'changed' (a session's tag differs, the lock is held, or the
-- contact is no longer in its flow) or 'seen' (the key was stored before): nothing written
-- then.
local id, now, keyed = ARGV[1], ARGV[2], ARGV[5]
local said, others = tonumber(ARGV[15]), tonumber(ARGV[16])

local function tag_of(key)
  return session_tag(redis.call('GET', key), now)
end

if tag_of(KEYS[9]) ~= ARGV[6] then
  return {'changed'}
end
for i = 1, others do
  if tag_of(KEYS[11 + i]) ~= ARGV[16 + said + i] then
    return {'changed'}
  end
end
if KEYS[10] ~= '' then
  local held = redis.call('GET', KEYS[10])
  if held and tonumber(cjson.decode(held)['x']) > tonumber(now) then
    return {'changed'}
  end
end
if keyed == '1' then
  local seen
  if ARGV[9] == '' then
    seen = redis.call('GET', KEYS[11])
  else
    seen = redis.call('HGET', KEYS[11], ARGV[9])
  end
  if seen then
    return {'seen'}
  end
end
if ARGV[13] ~= '1' then
  local found = redis.call('HMGET', KEYS[1], 'ch', 'st', 'q')
  if not found[1] or (found[2] and found[2] ~= 'in_flow') or found[3] then
    return {'changed'}
  end
end
local flow = take_in(id, now, ARGV[3], ARGV[4], keyed, 17 + said + others, #ARGV)
for i = 17, 16 + said do
  redis.call('RPUSH', KEYS[2], ARGV[i])
end
if ARGV[14] ~= '' and flow.lg ~= ARGV[14] then
  redis.call('HSET', KEYS[1], 'lg', ARGV[14])
  flow.lg = ARGV[14]
end
if keyed == '1' then
  if ARGV[9] == '' then
    redis.call('SET', KEYS[11], ARGV[10], 'PX', ARGV[12])
  else
    idem_put(KEYS[11], ARGV[9], id, ARGV[11], ARGV[10], ARGV[12])
  end
end
redis.call('SET', KEYS[9], ARGV[7], 'PX', ARGV[8])
return reply('ok', flow)
