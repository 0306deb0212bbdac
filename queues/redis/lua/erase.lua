-- erase: anonymise a contact (a customer's erase request) in one step: its address (and
-- the shard's address index), subject and meta, and the history entries the caller
-- rewrote. Queue entries, events and buckets are not touched: every count stays.
-- KEYS: flow, history, the address index of the address read, the index of the new one
-- ARGV: id, new address, the address the caller read, n, then n triples (history index,
--       the entry the caller read there, its erased form), then the meta fields to keep
--       as field/value pairs
-- Reply: 'ok', 'notfound', or 'changed' when the contact changed since the caller read it
-- (another erase): the caller reads it again.
local id, address, read = ARGV[1], ARGV[2], ARGV[3]
local n = tonumber(ARGV[4])
local flow = load(KEYS[1])
if not flow then
  return {'notfound'}
end
if flow.ad ~= read then
  return {'changed'}
end
for i = 0, n - 1 do
  local at = 5 + 3 * i
  if redis.call('LINDEX', KEYS[2], tonumber(ARGV[at])) ~= ARGV[at + 1] then
    return {'changed'}
  end
end
for i = 0, n - 1 do
  local at = 5 + 3 * i
  redis.call('LSET', KEYS[2], tonumber(ARGV[at]), ARGV[at + 2])
end
if address ~= read then
  redis.call('ZREM', KEYS[3], id)
  redis.call('ZADD', KEYS[4], flow.ca, id)
  redis.call('HSET', KEYS[1], 'ad', address)
end
local gone = {'sj', 'mt'}
for field in pairs(flow) do
  if string.sub(field, 1, 2) == 'm:' then
    gone[#gone + 1] = field
  end
end
redis.call('HDEL', KEYS[1], unpack(gone))
local kept = 5 + 3 * n
if #ARGV >= kept then
  redis.call('HSET', KEYS[1], unpack(ARGV, kept))
end
return {'ok'}
