-- fcr: first-contact resolution (outcomes.py). 'resolved': a verified customer's contact
-- was resolved: count it once (fc) and watch the account on this team. 'arrived': a new
-- contact of the account was queued here: when the watch is another contact's and younger
-- than within_s, it is a repeat: count it once (fr) and end the watch.
-- KEYS: entry, the account's watch (:fcr:<account>), team events, team buckets (hour of now)
-- ARGV: id, now, team, 'resolved' | 'arrived', within_s
-- The watch is "<contact id> <resolved at>" on the store's clock, which decides; its PX ttl
-- (the server's clock) only reclaims it.
-- Reply: 'ok'; 'dup' (counted before); 'none' (no repeat); 'state' <st>; 'absent'/'moved'.
local id, now, team, mode = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local within = tonumber(ARGV[5])
local entry = load(KEYS[1])
local refused = gone(entry)
if refused then
  return refused
end
if mode == 'resolved' then
  if entry.st ~= 'resolved' then
    return {'state', entry.st}
  end
  if entry.fc then
    return {'dup'}
  end
  redis.call('HSET', KEYS[1], 'fc', '1')
  redis.call('SET', KEYS[2], id .. ' ' .. now, 'PX', math.max(1, math.ceil(within * 1000)))
  team_event(KEYS[1], KEYS[3], id, 'fcr_counted', now, team, entry.ag or '', {})
  bucket_add(KEYS[4], now, entry.ch or '', {[B.fcr_resolved] = 1})
  return {'ok'}
end
if entry.fr then
  return {'dup'}
end
local watch = redis.call('GET', KEYS[2])
if not watch then
  return {'none'}
end
local watched, at = string.match(watch, '^(%S+) (%S+)$')
if watched == id or tonumber(now) - tonumber(at) >= within then
  return {'none'}
end
redis.call('DEL', KEYS[2])
redis.call('HSET', KEYS[1], 'fr', '1')
team_event(KEYS[1], KEYS[3], id, 'fcr_repeat', now, team, '', {of = watched})
bucket_add(KEYS[4], now, entry.ch or '', {[B.fcr_returned] = 1})
return {'ok'}
