-- acquire_lock: take a lock (or extend it) unless another owner holds it unexpired.
-- KEYS: lock (string: {"o": owner, "x": expires_at}, with a PX ttl reclaiming memory)
-- ARGV: owner, now, expires_at, ttl in milliseconds
local raw = redis.call('GET', KEYS[1])
if raw then
  local held = cjson.decode(raw)
  if held['o'] ~= ARGV[1] and tonumber(held['x']) > tonumber(ARGV[2]) then
    return {'held'}
  end
end
redis.call('SET', KEYS[1], cjson.encode({o = ARGV[1], x = tonumber(ARGV[3])}), 'PX', ARGV[4])
return {'ok'}
