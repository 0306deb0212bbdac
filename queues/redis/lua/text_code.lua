-- text_code: the code a prompt template is kept under (texts.py): the one it was given, or
-- the next number.
-- KEYS: texts (hash: '<code>' -> template, '#<template id>' -> code, '#' the last code
--       given; earlier versions: '<template id>' -> template)
-- ARGV: template id, template
-- Reply: {code}
local code = redis.call('HGET', KEYS[1], '#' .. ARGV[1])
if code then
  return {code}
end
code = tostring(redis.call('HINCRBY', KEYS[1], '#', 1))
redis.call('HSET', KEYS[1], '#' .. ARGV[1], code, code, ARGV[2])
return {code}
