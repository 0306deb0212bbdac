-- position (read only): where a waiting contact stands in its team's queue.
-- KEYS: entry, ready
-- ARGV: id
-- Reply: 'ok' ahead waiting; 'state' <state> when it is not waiting; 'absent'; 'moved'.
local entry = load(KEYS[1])
local refused = not_waiting(entry)
if refused then
  return refused
end
local ahead = redis.call('ZRANK', KEYS[2], member_of(entry, ARGV[1]))
if not ahead then
  return {'state', 'waiting'}
end
return {'ok', ahead, redis.call('ZCARD', KEYS[2])}
