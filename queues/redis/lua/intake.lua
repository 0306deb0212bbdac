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
local flow = take_in(id, now, message, message_id, keyed, 6, #ARGV)
return reply('ok', flow)
