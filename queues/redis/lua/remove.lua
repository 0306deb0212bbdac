-- remove: the customer gave up while waiting; the contact becomes abandoned.
-- KEYS: entry, ready, queued, team events, team buckets (hour of now)
-- ARGV: id, now, team
local id, now = ARGV[1], ARGV[2]
local entry = load(KEYS[1])
local refused = not_waiting(entry)
if refused then
  return refused
end
ready_rem(KEYS[2], entry, id)
redis.call('ZREM', KEYS[3], id)
redis.call('HSET', KEYS[1], 'st', 'abandoned', 'cl', now)
local wait_s = round6(tonumber(now) - tonumber(entry.qa))
team_event(KEYS[1], KEYS[4], id, 'contact_abandoned', now, ARGV[3], '', {wait_s = wait_s})
local changes = {[B.waiting_delta] = -1}
ended_wait(changes, wait_s, B.abandoned, B.abandoned_0)
bucket_add(KEYS[5], now, entry.ch or '', changes)
return {'ok'}
