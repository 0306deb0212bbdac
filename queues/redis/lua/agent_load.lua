-- agent_load: an agent's load in one team (capacity.py), counted from their held set.
-- KEYS: the agent's held set (:held:<agent>), fences (:fence)
-- ARGV: agent, now, wrap_up_s, entry key prefix, claim token ('' for a plain read)
-- With a token the fence keeps the newest token seen, so that an older claim of the agent
-- still under way is refused here ('fenced' in claim.lua): it would not be counted.
-- Reply: channel, count, channel, count, ...
local agent = ARGV[1]
if ARGV[5] ~= '' then
  local fence = tonumber(redis.call('HGET', KEYS[2], agent) or '0')
  if fence < tonumber(ARGV[5]) then
    redis.call('HSET', KEYS[2], agent, ARGV[5])
  end
end
local counts = count_held(KEYS[1], ARGV[4], agent, tonumber(ARGV[2]), tonumber(ARGV[3]))
local out = {}
for ch, n in pairs(counts) do
  out[#out + 1] = ch
  out[#out + 1] = n
end
return out
