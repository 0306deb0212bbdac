-- position (read only): where a waiting contact stands in its team's queue, the union of
-- its channels' ready indexes.
-- KEYS: entry, ready (the base of the channels' indexes)
-- ARGV: id
-- Reply: 'ok' ahead waiting; 'state' <state> when it is not waiting; 'absent'; 'moved'.
local entry = load(KEYS[1])
local refused = not_waiting(entry)
if refused then
  return refused
end
local ahead, waiting = standing(KEYS[2], entry, ARGV[1])
if not ahead then
  return {'state', 'waiting'}
end
return {'ok', ahead, waiting}
