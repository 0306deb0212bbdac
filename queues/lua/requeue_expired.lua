-- requeue_expired: contacts whose lease ended go back with their original score.
-- KEYS: all events, then per candidate: contact, contact events, ready, leased, queued
-- ARGV: now, then per candidate: id, team
-- Reply: the ids put back. A candidate renewed or moved since the caller looked is
-- skipped; a leased entry whose contact is no longer held in that team is dropped.
local now = tonumber(ARGV[1])
local done = {}
for i = 2, #ARGV, 2 do
  local id, team = ARGV[i], ARGV[i + 1]
  local k = 2 + (i - 2) / 2 * 5
  local contact = load(KEYS[k])
  if not contact or contact.st ~= 'assigned' or contact.tm ~= team then
    redis.call('ZREM', KEYS[k + 3], id)
  elseif contact.lu and tonumber(contact.lu) <= now then
    requeue(KEYS[k], contact, id, KEYS[k + 2], KEYS[k + 3], KEYS[k + 4])
    event(KEYS[k + 1], KEYS[1], id, 'lease_expired', ARGV[1], team, contact.ag, {})
    done[#done + 1] = id
  end
end
return done
