-- Shared helpers, put in front of every script when the store loads it.
--
-- Times arrive in ARGV as strings of POSIX seconds from the store's clock; no script reads
-- the server's TIME. Numbers that go back into Redis are formatted with %.17g, because
-- Lua's own number-to-string keeps only 14 digits. Replies start with a status:
-- 'ok', 'notfound', 'state' <state>, 'notholder', 'team' <team> (the caller named the
-- wrong team keys and retries), 'dup' <stored> or 'empty'.

local function load(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then
    return nil
  end
  local contact = {}
  for i = 1, #flat, 2 do
    contact[flat[i]] = flat[i + 1]
  end
  return contact
end

local function reply(status, contact)
  local flat = {status}
  for field, value in pairs(contact) do
    flat[#flat + 1] = field
    flat[#flat + 1] = value
  end
  return flat
end

local function round6(x)
  return math.floor(x * 1000000 + 0.5) / 1000000
end

local function score_of(contact)
  return string.format('%.17g', tonumber(contact.qa) - tonumber(contact.pr or '0'))
end

-- Append an event to the stream of all events. Every entry has the same fields (c id,
-- k kind, t time, tm team, ag agent, d data JSON; '' when absent), which the stream
-- stores once per node. The entry id comes from the event time, so readers can start at
-- a time; a clock behind the last entry reuses the last id's milliseconds (readers
-- filter on the event's own time, never on the id). Returns the entry id.
local function stream_add(stream, id, kind, at, team, agent, data)
  local fields = {'c', id, 'k', kind, 't', at, 'tm', team or '', 'ag', agent or '', 'd', data}
  local entry = string.format('%d-*', math.floor(tonumber(at) * 1000))
  local added = redis.pcall('XADD', stream, entry, unpack(fields))
  if type(added) == 'table' and added.err then
    local info = redis.call('XINFO', 'STREAM', stream)
    local last
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then
        last = info[i + 1]
      end
    end
    added = redis.call('XADD', stream, string.match(last, '^(%d+)') .. '-*', unpack(fields))
  end
  return added
end

-- An event goes to the stream of all events once; the contact's list keeps its id.
local function event(contact_events, all_events, id, kind, at, team, agent, data)
  local json = ''
  if data and next(data) ~= nil then
    json = cjson.encode(data)
  end
  redis.call('RPUSH', contact_events, stream_add(all_events, id, kind, at, team, agent, json))
end

-- Why an agent cannot act on a contact as its holder, or nil when it can.
local function not_holder(contact, agent)
  if not contact then
    return {'notfound'}
  end
  if contact.st == 'waiting' then
    return {'notholder'}
  end
  if contact.st ~= 'assigned' then
    return {'state', contact.st}
  end
  if contact.ag ~= agent then
    return {'notholder'}
  end
  return nil
end

-- The caller passes the team it believes the contact is in, with that team's keys.
local function wrong_team(contact, team)
  if (contact.tm or '') ~= team then
    return {'team', contact.tm or ''}
  end
  return nil
end

local function member_of(contact, id)
  return contact.sq .. ':' .. id
end

-- Back to the ready queue with the original score and sequence; the lease is cleared.
local function requeue(key, contact, id, ready, leased, queued)
  redis.call('ZREM', leased, id)
  redis.call('ZADD', ready, score_of(contact), member_of(contact, id))
  redis.call('ZADD', queued, contact.qa, id)
  redis.call('HSET', key, 'st', 'waiting')
  redis.call('HDEL', key, 'ag', 'aa', 'lu')
end
