-- intake: store an inbound message, creating the contact when it is new; idempotent.
-- KEYS: contact, contact events, all events, messages, contacts index, address index,
--       [intake key]
-- ARGV: id, now, message JSON, message id, contact field/value pairs...
-- Reply: 'ok' + contact fields, or 'dup' "<message index>:<contact id>".
local id, now = ARGV[1], ARGV[2]
if KEYS[7] then
  local seen = redis.call('GET', KEYS[7])
  if seen then
    return {'dup', seen}
  end
end
local contact = load(KEYS[1])
if not contact then
  redis.call('HSET', KEYS[1], unpack(ARGV, 5))
  contact = load(KEYS[1])
  redis.call('ZADD', KEYS[5], contact.ca, id)
  redis.call('ZADD', KEYS[6], contact.ca, id)
  event(KEYS[2], KEYS[3], id, 'contact_created', now, contact.tm, contact.ag,
    {channel = contact.ch})
end
local count = redis.call('RPUSH', KEYS[4], ARGV[3])
event(KEYS[2], KEYS[3], id, 'message_received', now, contact.tm, contact.ag,
  {message_id = ARGV[4]})
if KEYS[7] then
  redis.call('SET', KEYS[7], string.format('%d', count - 1) .. ':' .. id)
end
return reply('ok', contact)
