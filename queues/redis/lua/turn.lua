-- turn: an inbound message of a contact in its flow with everything it changes, whole or
-- not at all (queues/turns.py). One Redis only: the session and idempotency keys are not
-- in the contact's shard, nor the team's queue (on a cluster the store applies a turn step
-- by step).
-- KEYS: 1-8 intake's (flow, history, keyed index, shard contacts, shard address index,
--       shard events, shard buckets, the shard's account index prefix), 9 the session,
--       10 the lock that must be free ('' none), 11 the idempotency key ('' none: a string,
--       or the group's hash), 12... the m other sessions that must keep their tags, then,
--       when the turn queues the contact, the team's entry, ready, queued, sequence,
--       events and buckets (enqueue.lua's)
-- ARGV: 1 id, 2 now, 3 message JSON, 4 message id, 5 '1' when keyed, 6 the session's tag
--       as read ('' none), 7 the new session value ('' leaves the session as it is), 8 its
--       ttl ms, 9 the idempotency field ('' for a string key), 10 its value, 11 its value
--       in a group that names the contact (idem_put), 12 its ttl ms, 13 '1' when the turn
--       creates the contact, 14 its language after the turn ('' unchanged), 15 the number
--       n of prompts said, 16 the number m of other sessions, 17 the number e of the
--       enqueue's values (0: the turn queues nothing), then the n prompts' JSON, the m
--       sessions' tags ('' none), the e enqueue values (team, delay_s, the number s of flow
--       field/value pairs to set, the s pairs, the flow fields to delete: update_contact's
--       sla_due and meta_merge), then the new contact's flow pairs
-- Reply: 'ok' + flow pairs, or when it queued the contact 'ok' ahead waiting <count>
-- entry pairs (count values) + flow pairs; 'changed' (a session's tag differs, the lock is
-- held, the contact is no longer in its flow, or one to queue keeps its meta as one JSON
-- (an earlier version's 'mt') or has an entry in the team already) or 'seen' (the key was
-- stored before): nothing written then.
local id, now, keyed = ARGV[1], ARGV[2], ARGV[5]
local said, others, queueing = tonumber(ARGV[15]), tonumber(ARGV[16]), tonumber(ARGV[17])
local team_keys = {}
if queueing > 0 then
  team_keys = {unpack(KEYS, 12 + others, 17 + others)}
end

local function tag_of(key)
  return session_tag(redis.call('GET', key), now)
end

if tag_of(KEYS[9]) ~= ARGV[6] then
  return {'changed'}
end
for i = 1, others do
  if tag_of(KEYS[11 + i]) ~= ARGV[17 + said + i] then
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
  local found = redis.call('HMGET', KEYS[1], 'ch', 'st', 'q', 'mt')
  if not found[1] or (found[2] and found[2] ~= 'in_flow') or found[3] then
    return {'changed'}
  end
  if queueing > 0 and found[4] then
    return {'changed'} -- the locked path splits an earlier version's meta first
  end
end
if queueing > 0 and redis.call('EXISTS', team_keys[1]) == 1 then
  return {'changed'}
end
local first = 18 + said + others -- the enqueue's values, then the new contact's pairs
local flow = take_in(id, now, ARGV[3], ARGV[4], keyed, first + queueing, #ARGV)
for i = 18, 17 + said do
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
if ARGV[7] ~= '' then
  redis.call('SET', KEYS[9], ARGV[7], 'PX', ARGV[8])
end
if queueing == 0 then
  return reply('ok', flow)
end
local team, delay, sets = ARGV[first], ARGV[first + 1], tonumber(ARGV[first + 2])
local last_set = first + 2 + 2 * sets
for i = last_set + 1, first + queueing - 1 do
  redis.call('HDEL', KEYS[1], ARGV[i])
  flow[ARGV[i]] = nil
end
for i = first + 3, last_set, 2 do
  flow[ARGV[i]] = ARGV[i + 1]
end
flow.q = team
redis.call('HSET', KEYS[1], 'q', team, unpack(ARGV, first + 3, last_set))
local entry = queue_entry(team_keys, id, team, delay, now, flow.ch)
local ahead, waiting = standing(team_keys[2], entry, id)
local out = append_pairs({'ok', ahead, waiting, 0}, entry)
out[4] = #out - 4
return append_pairs(out, flow)
