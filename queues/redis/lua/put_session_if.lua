-- put_session_if: compare-and-set of a session; store the new value only when the session
-- still carries the tag the caller read ("" for absent or expired).
-- KEYS: session (string: sessions.py)
-- ARGV: expected tag, now, the new value, ttl in milliseconds
if session_tag(redis.call('GET', KEYS[1]), ARGV[2]) ~= ARGV[1] then
  return {'changed'}
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return {'ok'}
