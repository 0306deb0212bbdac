-- append_message: record a message (outbound reply or flow text) on a contact. The message
-- is its own record: no message event goes to the stream (History.events derives it).
-- KEYS: flow, history
-- ARGV: message JSON
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
redis.call('RPUSH', KEYS[2], ARGV[1])
return {'ok'}
