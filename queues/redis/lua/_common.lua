-- Shared helpers, put in front of every script when the store loads it.
--
-- Every script touches the keys of one hash tag: a contact shard or a team (see
-- queues/redis/keys.py). Times arrive in ARGV as strings of POSIX seconds from the store's
-- clock; no script reads the server's TIME. Numbers that go back into Redis are formatted
-- with %.17g, because Lua's own number-to-string keeps only 14 digits. Replies start with a
-- status: 'ok', 'notfound', 'state' <state>, 'notholder', 'absent' (no entry in this team:
-- the caller looks for the contact again), 'moved' <team>, 'queued' <team>, 'dup', 'exists',
-- 'empty', 'worse'.

local function load(key)
  local flat = redis.call('HGETALL', key)
  if #flat == 0 then
    return nil
  end
  local record = {}
  for i = 1, #flat, 2 do
    record[flat[i]] = flat[i + 1]
  end
  return record
end

local function append_pairs(out, record)
  for field, value in pairs(record) do
    out[#out + 1] = field
    out[#out + 1] = value
  end
  return out
end

local function reply(status, record)
  return append_pairs({status}, record)
end

local function round6(x)
  return math.floor(x * 1000000 + 0.5) / 1000000
end

local function score_of(entry)
  return string.format('%.17g', tonumber(entry.qa) - tonumber(entry.pr or '0'))
end

-- A waiting entry's member of its ready queues: its sequence in 12 digits (so that ties
-- sort FIFO), ':', its id. Entries keep sq as a plain number (earlier versions: padded).
local function member_of(entry, id)
  return string.format('%012d', tonumber(entry.sq)) .. ':' .. id
end

local function encode(data)
  if data and next(data) ~= nil then
    return cjson.encode(data)
  end
  return ''
end

-- The whole microseconds of a time string ("<seconds>.<up to 6 digits>", fmt_time), or nil
-- for another form: read digit by digit, exact.
local function exact_us(at)
  local whole, fraction = string.match(at, '^(%d+)%.?(%d*)$')
  if not whole or #fraction > 6 then
    return nil
  end
  return tonumber(whole) * 1000000 + tonumber(fraction .. string.rep('0', 6 - #fraction))
end

-- Append an event to a stream. Every entry has the same fields (c id, k kind, t time,
-- tm team, ag agent, d data JSON; '' when absent), which a stream stores once per node.
-- The entry id comes from the event time, so readers can start at a time, and t is then
-- the microseconds after the id's millisecond (0-999: codec.decode_event); a clock behind
-- the last entry reuses the last id's milliseconds and keeps t in full (readers filter on
-- the event's own time, never on the id). Returns the entry id.
local function stream_add(stream, id, kind, at, team, agent, data)
  local us = exact_us(at)
  local ms = us and math.floor(us / 1000) or math.floor(tonumber(at) * 1000)
  local short = us and string.format('%d', us - ms * 1000) or at
  local fields = {'c', id, 'k', kind, 't', short, 'tm', team or '', 'ag', agent or '', 'd', data}
  local added = redis.pcall('XADD', stream, string.format('%d-*', ms), unpack(fields))
  if type(added) == 'table' and added.err then
    local info = redis.call('XINFO', 'STREAM', stream)
    local last
    for i = 1, #info, 2 do
      if info[i] == 'last-generated-id' then
        last = info[i + 1]
      end
    end
    fields[6] = at
    added = redis.call('XADD', stream, string.match(last, '^(%d+)') .. '-*', unpack(fields))
  end
  return added
end

-- An event's time (seconds) from its stream entry: its id and t (stream_add).
local function event_time(entry_id, t)
  if string.find(t, '^%d+$') then
    return (tonumber(string.match(entry_id, '^(%d+)')) * 1000 + tonumber(t)) / 1000000
  end
  return tonumber(t)
end

-- A contact event: into the shard's stream, its reference into the contact's history.
local function contact_event(history, stream, id, kind, at, team, agent, data)
  redis.call('RPUSH', history, stream_add(stream, id, kind, at, team, agent, encode(data)))
end

-- A queue event: into the team's stream, its reference into the entry (fields 1..n).
local function team_event(entry_key, stream, id, kind, at, team, agent, data)
  local ref = stream_add(stream, id, kind, at, team, agent, encode(data))
  local n = redis.call('HINCRBY', entry_key, 'n', 1)
  redis.call('HSET', entry_key, tostring(n), ref)
end

-- Why a queue operation cannot act on this team's entry, or nil when it can.
local function gone(entry)
  if not entry then
    return {'absent'}
  end
  if entry.st == 'moving' or entry.st == 'moved' then
    return {'moved', entry.mv}
  end
  return nil
end

-- Why an operation on a waiting contact cannot act on this entry, or nil when it can.
local function not_waiting(entry)
  local refused = gone(entry)
  if not refused and entry.st ~= 'waiting' then
    refused = {'state', entry.st}
  end
  return refused
end

-- Why an agent cannot act on a contact as its holder, or nil when it can.
local function not_holder(entry, agent)
  if entry.st == 'waiting' then
    return {'notholder'}
  end
  if entry.st ~= 'assigned' then
    return {'state', entry.st}
  end
  if entry.ag ~= agent then
    return {'notholder'}
  end
  return nil
end

-- A waiting entry's ready index: its channel's (ready .. ':' .. channel, the same tag;
-- ready .. ':' for an entry without one). The team's queue is the union of its channels'
-- indexes (READY_CHANNELS); earlier versions also kept every member in `ready` itself
-- (index_ready.lua moves what they left there).
local function ready_of(ready, entry)
  return ready .. ':' .. (entry.ch or '')
end

local function ready_add(ready, entry, id)
  redis.call('ZADD', ready_of(ready, entry), score_of(entry), member_of(entry, id))
end

local function ready_rem(ready, entry, id)
  redis.call('ZREM', ready_of(ready, entry), member_of(entry, id))
end

-- Where a waiting entry stands in its team's queue (the union of the channels' indexes,
-- by score, then sequence): the number ahead of it and the number waiting, or nil when it
-- is in no index.
local function standing(ready, entry, id)
  local mine, member, score = ready_of(ready, entry), member_of(entry, id), score_of(entry)
  local ahead = redis.call('ZRANK', mine, member)
  if not ahead then
    return nil
  end
  local seq, waiting = tonumber(entry.sq), 0
  for _, channel in ipairs(READY_CHANNELS) do
    local index = ready .. ':' .. channel
    local size = redis.call('ZCARD', index)
    waiting = waiting + size
    if index ~= mine and size > 0 then
      ahead = ahead + redis.call('ZCOUNT', index, '-inf', '(' .. score)
      for _, other in ipairs(redis.call('ZRANGE', index, score, score, 'BYSCORE')) do
        if tonumber(string.match(other, '^(%d+):')) < seq then -- an equal score: FIFO
          ahead = ahead + 1
        end
      end
    end
  end
  return ahead, waiting
end

-- An agent's load in one team (capacity.py) from their held set (ids they claimed here):
-- {channel = count} of those assigned to them and those they resolved less than `wrap`
-- seconds before `now`. Ids that can count no longer (another holder, back in a queue,
-- moved, resolved over MAX_WRAP_UP_S ago) leave the set.
local function count_held(held, prefix, agent, now, wrap)
  local counts = {}
  for _, id in ipairs(redis.call('SMEMBERS', held)) do
    local st, ag, ch, cl = unpack(redis.call('HMGET', prefix .. id, 'st', 'ag', 'ch', 'cl'))
    local counted, kept = false, false
    if ag == agent and st == 'assigned' then
      counted, kept = true, true
    elseif ag == agent and st == 'resolved' and cl then
      counted = now < tonumber(cl) + wrap
      kept = now < tonumber(cl) + MAX_WRAP_UP_S
    end
    if counted then
      ch = ch or ''
      counts[ch] = (counts[ch] or 0) + 1
    end
    if not kept then
      redis.call('SREM', held, id)
    end
  end
  return counts
end

-- Back to the ready queue with the original score and sequence; the lease is cleared.
local function requeue(key, entry, id, ready, leased, queued)
  redis.call('ZREM', leased, id)
  ready_add(ready, entry, id)
  redis.call('ZADD', queued, entry.qa, id)
  redis.call('HSET', key, 'st', 'waiting')
  redis.call('HDEL', key, 'ag', 'aa', 'lu')
end

-- Running aggregates (queues/buckets.py; B, WAIT_EDGES_US, BUCKET_TTL_S and RECENT_HANDLES
-- come from Python, in front of this file). A tag's buckets of one hour are one hash,
-- field '<minute>:<channel>', value the counts in COUNTS order, space-separated, without
-- trailing zeros. Every transition adds to its bucket in its own script.

local function microseconds(seconds)
  return math.floor(seconds * 1000000 + 0.5)
end

-- The wait bin (0-based) of a wait in microseconds: the first edge at or above it.
local function wait_bin(us)
  for i = 1, #WAIT_EDGES_US do
    if us <= WAIT_EDGES_US[i] then
      return i - 1
    end
  end
  return #WAIT_EDGES_US
end

-- Add `changes` ({[count index] = n}) to the bucket of `channel` in the minute holding `at`
-- (key: the hash of the hour holding `at`, which the caller names).
local function bucket_add(key, at, channel, changes)
  local field = string.format('%d', math.floor(tonumber(at) / 60) * 60) .. ':' .. channel
  local counts = {}
  local stored = redis.call('HGET', key, field)
  if stored then
    for value in string.gmatch(stored, '%S+') do
      counts[#counts + 1] = tonumber(value)
    end
  end
  for i, n in pairs(changes) do
    for j = #counts + 1, i do
      counts[j] = 0
    end
    counts[i] = counts[i] + n
  end
  local last = #counts
  while last > 0 and counts[last] == 0 do
    last = last - 1
  end
  if last == 0 then
    redis.call('HDEL', key, field)
    return
  end
  local out = {}
  for j = 1, last do
    out[j] = string.format('%.17g', counts[j])
  end
  redis.call('HSET', key, field, table.concat(out, ' '))
  redis.call('EXPIRE', key, BUCKET_TTL_S, 'NX')
end

-- The counts of a wait that ended in an answer (first claim) or in the customer giving up.
local function ended_wait(changes, wait_s, count, bins)
  local us = microseconds(wait_s)
  changes[count] = 1
  changes[bins + wait_bin(us)] = 1
  return us
end

-- The tag of a session's value (sessions.py: "<expires at> <tag> <data>", or an earlier
-- version's JSON), '' when there is none or it expired by `now`.
local function session_tag(raw, now)
  if not raw then
    return ''
  end
  local x, t
  if string.sub(raw, 1, 1) == '{' then
    local stored = cjson.decode(raw)
    x, t = stored['x'], stored['t'] or ''
  else
    x, t = string.match(raw, '^(%S+) (%S+) ')
  end
  if tonumber(x) > tonumber(now) then
    return t
  end
  return ''
end

-- An idempotency key of a group (idem.py): its value is `short` when the group's hash
-- names contact `id` (':c'; the group's first key names its contact), else `full`.
local function idem_put(group, field, id, short, full, ttl)
  local owner = redis.call('HGET', group, ':c')
  if not owner then
    redis.call('HSET', group, ':c', id)
    owner = id
  end
  if owner == id then
    redis.call('HSET', group, field, short)
  else
    redis.call('HSET', group, field, full)
  end
  redis.call('PEXPIRE', group, ttl)
end

-- The history index (0-based) of a message, or nil: ARGV of messages.message_probe, its
-- id, its short form "~<8 hex>" ('' none) and the ms after the contact id's time it was
-- made in. A short id is made in its message's millisecond, or d ms after ("<8 hex>:d");
-- a line ("<kind><short id> <at> <text>") or an array with "~" and it (messages.py).
-- Read only for a retry of an idempotency key (the history is read whole).
local function find_message(history, full, short, made)
  local function found(kept, d, offset)
    return short ~= '' and '~' .. kept == short
      and math.floor(tonumber(offset) / 1000) + (tonumber(d) or 0) == tonumber(made)
  end
  for i, item in ipairs(redis.call('LRANGE', history, 0, -1)) do
    local first = string.sub(item, 1, 1)
    if first == '[' then
      local data = cjson.decode(item)
      local kept, d = string.match(data[1], '^~(%x+):?(%-?%d*)$')
      if data[1] == full or (kept and found(kept, d, data[4])) then
        return i - 1
      end
    elseif first == '{' then
      if cjson.decode(item)['i'] == full then
        return i - 1
      end
    elseif not string.find(first, '%d') then
      local kept, d, offset = string.match(item, '^.(%x+):?(%-?%d*) (%-?%d+)')
      if kept and found(kept, d, offset) then
        return i - 1
      end
    end
  end
  return nil
end

-- What intake.lua and turn.lua write for an inbound message: the contact when it is new
-- (its flow field/value pairs are ARGV[first..last]) and the message; for a retry of an
-- idempotency key (keyed '2') that finds the message not stored, its history index too,
-- so that an attempt still under way finds it (keyed '1': intake.lua). KEYS[1..8] are
-- intake's. Returns the flow.
local function take_in(id, now, message, message_id, keyed, first, last)
  local flow = load(KEYS[1])
  if not flow then
    redis.call('HSET', KEYS[1], unpack(ARGV, first, last))
    flow = load(KEYS[1])
    redis.call('ZADD', KEYS[4], flow.ca, id)
    redis.call('ZADD', KEYS[5], flow.ca, id)
    if flow.ac and KEYS[8] then -- created with its account: in the account's index
      redis.call('ZADD', KEYS[8] .. flow.ac, flow.ca, id)
    end
    contact_event(KEYS[2], KEYS[6], id, 'contact_created', now, '', '', {channel = flow.ch})
    bucket_add(KEYS[7], now, flow.ch, {[B.created] = 1})
  end
  local count = redis.call('RPUSH', KEYS[2], message)
  if keyed == '2' then
    redis.call('HSET', KEYS[3], message_id, count - 1)
  end
  return flow
end

-- A new waiting entry in a team's queue, with its event and its buckets (enqueue.lua,
-- turn.lua). `keys`: the team's entry, ready, queued, sequence, events and buckets (the
-- hour of `now`). Returns the entry as written (without its event references).
local function queue_entry(keys, id, team, delay, now, channel)
  local entry = {st = 'waiting', pr = delay, qa = now, ch = channel}
  entry.sq = string.format('%d', redis.call('INCR', keys[4]))
  redis.call('HSET', keys[1], 'st', 'waiting', 'pr', delay, 'qa', now, 'sq', entry.sq, 'ch', channel)
  ready_add(keys[2], entry, id)
  redis.call('ZADD', keys[3], now, id)
  team_event(keys[1], keys[5], id, 'contact_enqueued', now, team, '', {delay_s = tonumber(delay)})
  bucket_add(keys[6], now, channel, {[B.offered] = 1, [B.waiting_delta] = 1})
  return entry
end
