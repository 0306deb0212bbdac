-- move_in: the second step of a transfer, on the destination team: the contact waits
-- here with its original queued_at and sequence (so it keeps its place) and the moving
-- entry's event references. Idempotent: an entry this move made already (mt = token)
-- means done; a tombstone or a stale moving entry of an earlier move is replaced.
-- The entry keeps the channel and the answered mark; the move counts + 1 waiting in the
-- bucket of the minute it began (none when that is unknown: '').
-- KEYS: entry, ready, queued, team buckets (hour the move began)
-- ARGV: id, token, source team, delay_s, queued_at, sequence, channel, answered ('1' or
--       ''), when the move began (or ''), event references...
local id, token, source = ARGV[1], ARGV[2], ARGV[3]
local channel, answered, moved_at = ARGV[7], ARGV[8], ARGV[9]
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
entry = {st = 'waiting', pr = ARGV[4], qa = ARGV[5], sq = ARGV[6], mt = token, ch = channel}
local fields = {'st', 'waiting', 'pr', entry.pr, 'qa', entry.qa, 'sq', entry.sq, 'mt', token}
fields[#fields + 1] = 'ch'
fields[#fields + 1] = channel
if answered == '1' then
  fields[#fields + 1] = 'an'
  fields[#fields + 1] = '1'
end
local n = 0
for i = 10, #ARGV do
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
ready_add(KEYS[2], entry, id)
redis.call('ZADD', KEYS[3], entry.qa, id)
if moved_at ~= '' then
  bucket_add(KEYS[4], moved_at, channel, {[B.waiting_delta] = 1})
end
return {'ok'}
