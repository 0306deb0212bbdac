-- release_lock: give a lock up when the caller still owns it.
-- KEYS: lock; ARGV: owner
local raw = redis.call('GET', KEYS[1])
if raw and cjson.decode(raw)['o'] == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
return {'ok'}
