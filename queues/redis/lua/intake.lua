-- intake: store an inbound message, creating the contact when it is new. The message is
-- its own record: no message event goes to the stream (History.events derives it).
-- KEYS: flow, history, keyed index, shard contacts, shard address index, shard events,
--       shard buckets (hour of now), the shard's account index prefix (:acct:)
-- ARGV: id, now, message JSON, message id, '1' when stored under an idempotency key,
--       the new contact's flow field/value pairs...
-- Reply: 'ok' + flow pairs, or 'dup' <stored message JSON> + flow pairs when a message
-- with this id was already stored under a key (the key's reservation names it, so a
-- retry after a crash, or a concurrent duplicate, stores it once).
local id, now, message, message_id, keyed = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if keyed == '1' then
  local index = redis.call('HGET', KEYS[3], message_id)
  if index then
    local flow = load(KEYS[1])
    return append_pairs({'dup', redis.call('LINDEX', KEYS[2], tonumber(index))}, flow)
  end
end
local flow = load(KEYS[1])
if not flow then
  redis.call('HSET', KEYS[1], unpack(ARGV, 6))
  flow = load(KEYS[1])
  redis.call('ZADD', KEYS[4], flow.ca, id)
  redis.call('ZADD', KEYS[5], flow.ca, id)
  if flow.ac and KEYS[8] then -- created with its account: in the account's index
    redis.call('ZADD', KEYS[8] .. flow.ac, flow.ca, id)
  end
  contact_event(KEYS[2], KEYS[6], id, 'contact_created', now, '', '', {channel = flow.ch})
  bucket_add(KEYS[7], now, flow.ch, {[B.created] = 1})
end
local count = redis.call('RPUSH', KEYS[2], message)
if keyed == '1' then
  redis.call('HSET', KEYS[3], message_id, count - 1)
end
return reply('ok', flow)
