-- move_in: the second step of a transfer, on the destination team: the contact waits
-- here with its original queued_at and sequence (so it keeps its place) and the moving
-- entry's event references. Idempotent: an entry this move made already (mt = token)
-- means done; a tombstone or a stale moving entry of an earlier move is replaced.
-- KEYS: entry, ready, queued
-- ARGV: id, token, source team, delay_s, queued_at, sequence, event references...
local id, token, source = ARGV[1], ARGV[2], ARGV[3]
local entry = load(KEYS[1])
if entry then
  if entry.mt == token then
    return {'ok'}
  end
  if entry.st ~= 'moved' and entry.st ~= 'moving' then
    return {'state', entry.st}
  end
  redis.call('DEL', KEYS[1])
end
entry = {st = 'waiting', pr = ARGV[4], qa = ARGV[5], sq = ARGV[6], mt = token}
local fields = {'st', 'waiting', 'pr', entry.pr, 'qa', entry.qa, 'sq', entry.sq, 'mt', token}
local n = 0
for i = 7, #ARGV do
  local ref = ARGV[i]
  if not string.find(ref, ' ', 1, true) then
    ref = source .. ' ' .. ref
  end
  n = n + 1
  fields[#fields + 1] = tostring(n)
  fields[#fields + 1] = ref
end
fields[#fields + 1] = 'n'
fields[#fields + 1] = tostring(n)
redis.call('HSET', KEYS[1], unpack(fields))
redis.call('ZADD', KEYS[2], score_of(entry), member_of(entry, id))
redis.call('ZADD', KEYS[3], entry.qa, id)
return {'ok'}
