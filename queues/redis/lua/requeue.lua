-- requeue: contacts of one team whose lease ended go back with their original score.
-- KEYS: ready, leased, queued, team events, team buckets (hour of now)
-- ARGV: now, team, entry key prefix, candidate ids...
-- Reply: the ids put back. A candidate renewed since the caller looked is skipped; a
-- leased member whose entry is no longer held here is dropped.
local now, team = ARGV[1], ARGV[2]
local done = {}
for i = 4, #ARGV do
  local id = ARGV[i]
  local key = ARGV[3] .. id
  local entry = load(key)
  if not entry or entry.st ~= 'assigned' then
    redis.call('ZREM', KEYS[2], id)
  elseif tonumber(entry.lu) <= tonumber(now) then
    requeue(key, entry, id, KEYS[1], KEYS[2], KEYS[3])
    team_event(key, KEYS[4], id, 'lease_expired', now, team, entry.ag, {})
    bucket_add(KEYS[5], now, entry.ch or '', {[B.waiting_delta] = 1})
    done[#done + 1] = id
  end
end
return done
