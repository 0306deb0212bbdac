-- release: the holder puts the contact back with its original score.
-- KEYS: entry, ready, leased, queued, team events, team buckets (hour of now)
-- ARGV: id, agent, now, team
local id, agent, now = ARGV[1], ARGV[2], ARGV[3]
local entry = load(KEYS[1])
local refused = gone(entry) or not_holder(entry, agent)
if refused then
  return refused
end
requeue(KEYS[1], entry, id, KEYS[2], KEYS[3], KEYS[4])
team_event(KEYS[1], KEYS[5], id, 'contact_released', now, ARGV[4], agent, {})
bucket_add(KEYS[6], now, entry.ch or '', {[B.waiting_delta] = 1})
return {'ok'}
