-- count_window: add to the current slot of a windowed counter and sum its window.
-- KEYS: the window's slot counters, the current slot first (one hash tag: one slot)
-- ARGV: add (0: only read), keep in milliseconds
local add = tonumber(ARGV[1])
if add ~= 0 then
  redis.call('INCRBY', KEYS[1], add)
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
end
local total = 0
for _, n in ipairs(redis.call('MGET', unpack(KEYS))) do
  if n then total = total + tonumber(n) end
end
return {'ok', total}
