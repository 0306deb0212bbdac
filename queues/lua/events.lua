-- events (read only): one contact's events, oldest first, from the ids its list keeps.
-- KEYS: contact, contact events, all events
-- Reply: 'ok' then one field/value list per event, or 'notfound'.
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
local found = {'ok'}
for _, id in ipairs(redis.call('LRANGE', KEYS[2], 0, -1)) do
  local entry = redis.call('XRANGE', KEYS[3], id, id)[1]
  if entry then
    found[#found + 1] = entry[2]
  end
end
return found
