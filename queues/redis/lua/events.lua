-- events: read one page of a stream, keeping the events of some kinds at or after a time,
-- so that only those cross the wire (a read: History.list_events with kinds).
-- KEYS: stream
-- ARGV: start ('-', an id, or '(' + an id: after it), page size, since ('' for none), kinds...
-- Reply: the last id read ('' when none), how many entries were read, then the id and
-- the fields (flat) of each event kept.
local since = tonumber(ARGV[3])
local wanted = {}
for i = 4, #ARGV do
  wanted[ARGV[i]] = true
end
local entries = redis.call('XRANGE', KEYS[1], ARGV[1], '+', 'COUNT', tonumber(ARGV[2]))
local out = {'', #entries}
for _, entry in ipairs(entries) do
  local fields = entry[2]  -- c <id> k <kind> t <time> ...: stream_add's order
  if wanted[fields[4]] and (not since or event_time(entry[1], fields[6]) >= since) then
    out[#out + 1] = entry[1]
    out[#out + 1] = fields
  end
  out[1] = entry[1]
end
return out
