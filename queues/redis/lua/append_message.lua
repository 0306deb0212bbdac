-- append_message: record a message (outbound reply or flow text) on a contact.
-- KEYS: flow, history, shard events
-- ARGV: id, now, message JSON, message id, event kind, agent ('' for none)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
redis.call('RPUSH', KEYS[2], ARGV[3])
contact_event(KEYS[2], KEYS[3], ARGV[1], ARGV[5], ARGV[2], '', ARGV[6], {message_id = ARGV[4]})
return {'ok'}
