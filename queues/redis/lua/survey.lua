-- survey: a queued contact's CSAT question was asked, or answered (outcomes.py).
-- KEYS: entry, team events, team buckets (hour of now)
-- ARGV: id, now, team, score ('' when asked)
-- Once each per contact (entry fields sa, sv): 'dup' and nothing changes after that.
-- Reply: 'ok'; 'dup'; 'absent'/'moved' (the caller looks for the contact again).
local id, now, team, score = ARGV[1], ARGV[2], ARGV[3], ARGV[4]
local entry = load(KEYS[1])
local refused = gone(entry)
if refused then
  return refused
end
local flag, kind, data, changes = 'sa', 'survey_asked', {}, {[B.surveys_asked] = 1}
if score ~= '' then
  local points = tonumber(score)
  flag, kind, data = 'sv', 'survey_answered', {score = points}
  changes = {[B.surveys_answered] = 1, [B.csat_sum] = points}
  if points >= SATISFIED then
    changes[B.csat_satisfied] = 1
  end
end
if entry[flag] then
  return {'dup'}
end
redis.call('HSET', KEYS[1], flag, score ~= '' and score or '1')
team_event(KEYS[1], KEYS[2], id, kind, now, team, entry.ag or '', data)
bucket_add(KEYS[3], now, entry.ch or '', changes)
return {'ok'}
