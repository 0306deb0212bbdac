-- put_doc_if: compare-and-set of one document in its kind's hash; store it only when the
-- document still carries the tag the caller read ("" for absent).
-- KEYS: docs of the kind (hash: key -> {"t": tag, "d": data})
-- ARGV: key, expected tag, the new value (JSON with its new tag)
local raw = redis.call('HGET', KEYS[1], ARGV[1])
local current = ''
if raw then
  current = cjson.decode(raw)['t'] or ''
end
if current ~= ARGV[2] then
  return {'changed'}
end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return {'ok'}
