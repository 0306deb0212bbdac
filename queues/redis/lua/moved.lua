-- moved: the last step of a transfer, on the source team: the moving entry becomes a
-- tombstone (st moved, mv, mt) that expires, and leaves :moving.
-- KEYS: entry, moving
-- ARGV: id, token, tombstone ttl_s
local entry = load(KEYS[1])
if entry and entry.st == 'moving' and entry.mo ~= ARGV[2] then
  return {'ok'}  -- another move's; that one finishes it
end
redis.call('ZREM', KEYS[2], ARGV[1])
if entry and entry.st == 'moving' then
  redis.call('DEL', KEYS[1])
  if entry.mt then
    redis.call('HSET', KEYS[1], 'st', 'moved', 'mv', entry.mv, 'mt', entry.mt)
  else
    redis.call('HSET', KEYS[1], 'st', 'moved', 'mv', entry.mv)
  end
  redis.call('EXPIRE', KEYS[1], tonumber(ARGV[3]))
end
return {'ok'}
