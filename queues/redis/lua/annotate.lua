-- annotate: an agent's note appended to a contact's notes (m:notes, a JSON list) and/or its
-- tags replaced (m:tags), in one step on its flow record; no other field changes, so two
-- notes added at once are both kept.
-- KEYS: flow
-- ARGV: the note as JSON ('' for none), the tags as a JSON list ('' leaves them, '[]'
--       removes them), the most notes a contact keeps
-- Reply: 'ok' + flow pairs, 'notfound', or 'full' when the contact has that many notes
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
local note, tags, most = ARGV[1], ARGV[2], tonumber(ARGV[3])
if note ~= '' then
  local notes = redis.call('HGET', KEYS[1], 'm:notes')
  local count = notes and #cjson.decode(notes) or 0
  if count >= most then
    return {'full'}
  end
  if count > 0 then -- the list's text with the note before its closing bracket
    notes = string.sub(notes, 1, -2) .. ',' .. note .. ']'
  else
    notes = '[' .. note .. ']'
  end
  redis.call('HSET', KEYS[1], 'm:notes', notes)
end
if tags == '[]' then
  redis.call('HDEL', KEYS[1], 'm:tags')
elseif tags ~= '' then
  redis.call('HSET', KEYS[1], 'm:tags', tags)
end
return reply('ok', load(KEYS[1]))
