-- intake: store an inbound message, creating the contact when it is new. The message is
-- its own record: no message event goes to the stream (History.events derives it).
-- KEYS: flow, history, keyed index, shard contacts, shard address index, shard events,
--       shard buckets (hour of now), the shard's account index prefix (:acct:)
-- ARGV: id, now, message JSON, message id, keyed ('' not under an idempotency key, '1'
--       under one first claimed now, '2' under one seen before: a retry), the message's
--       probe (2 values: find_message), then the new contact's flow field/value pairs...
-- Reply: 'ok' + flow pairs, or 'dup' <stored message JSON> + flow pairs when the message
-- was already stored under its key (the key names it, so a retry after a crash, or a
-- concurrent duplicate, stores it once). The keyed index (:k:) holds only messages a retry
-- stored (and every keyed message of an earlier version); a retry looks in the history.
local id, now, message, message_id, keyed = ARGV[1], ARGV[2], ARGV[3], ARGV[4], ARGV[5]
if keyed ~= '' then
  local index = redis.call('HGET', KEYS[3], message_id)
  if not index and keyed == '2' then
    index = find_message(KEYS[2], message_id, ARGV[6], ARGV[7])
  end
  if index then
    local flow = load(KEYS[1])
    return append_pairs({'dup', redis.call('LINDEX', KEYS[2], tonumber(index))}, flow)
  end
end
local flow = take_in(id, now, message, message_id, keyed, 8, #ARGV)
return reply('ok', flow)
