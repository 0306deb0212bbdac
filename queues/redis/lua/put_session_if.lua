-- put_session_if: compare-and-set of a session; store the new value only when the session
-- still carries the tag the caller read ("" for absent or expired).
-- KEYS: session (string: {"x": expires_at, "t": tag, "d": data})
-- ARGV: expected tag, now, the new value, ttl in milliseconds
local raw = redis.call('GET', KEYS[1])
local current = ''
if raw then
  local stored = cjson.decode(raw)
  if tonumber(stored['x']) > tonumber(ARGV[2]) then
    current = stored['t'] or ''
  end
end
if current ~= ARGV[1] then
  return {'changed'}
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return {'ok'}
