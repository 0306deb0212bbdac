-- add_event: record an event the caller made on a contact's history.
-- KEYS: flow, history, shard events
-- ARGV: id, kind, time, team, agent, data JSON ('' for none)
-- An id of '' is an event on no contact (an agent's status): the shard's stream only.
if ARGV[1] == '' then
  stream_add(KEYS[3], unpack(ARGV))
  return {'ok'}
end
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
redis.call('RPUSH', KEYS[2], stream_add(KEYS[3], unpack(ARGV)))
return {'ok'}
