-- append_message: record a message (outbound reply or flow text) on a contact.
-- KEYS: contact, contact events, all events, messages
-- ARGV: id, now, message JSON, message id, event kind
local contact = load(KEYS[1])
if not contact then
  return {'notfound'}
end
redis.call('RPUSH', KEYS[4], ARGV[3])
event(KEYS[2], KEYS[3], ARGV[1], ARGV[5], ARGV[2], contact.tm, contact.ag,
  {message_id = ARGV[4]})
return {'ok'}
