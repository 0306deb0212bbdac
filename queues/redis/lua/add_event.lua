-- add_event: record an event the caller made on a contact's history.
-- KEYS: flow, history, shard events
-- ARGV: id, kind, time, team, agent, data JSON ('' for none)
if redis.call('EXISTS', KEYS[1]) == 0 then
  return {'notfound'}
end
redis.call('RPUSH', KEYS[2], stream_add(KEYS[3], unpack(ARGV)))
return {'ok'}
