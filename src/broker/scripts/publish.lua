--[[
  Roomcast publish: assign the room's next seq, append to its bounded history, publish to every replica.
  Atomic, so every replica sees one order per room, and a repeated idempotency key is answered in the
  same step as the append it guards: two attempts with one key can never both publish.

  KEYS[1]  meta hash of the room (fields: epoch, seq)
  KEYS[2]  history stream of the room (entry id = "<seq>-0", field m = the message JSON)
  KEYS[3]  optional: the idempotency key of this publish (room's hash tag, then a hash of sender and
           key), a string holding the message JSON first published under it
  ARGV[1]  epoch to use when the room has none (random, made by the caller)
  ARGV[2]  pub/sub channel of the room
  ARGV[3]  room id (validated by the caller: needs no JSON escaping)
  ARGV[4]  event name (validated by the caller: needs no JSON escaping)
  ARGV[5]  data, as JSON text made by the caller
  ARGV[6]  history size: entries kept (exact MAXLEN, so gaps are exact even for small sizes)
  ARGV[7]  time to live of the room's keys after this publish, in milliseconds
  ARGV[8]  sender, as JSON text made by the caller: `null`, or a JSON string literal made by
           JSON.stringify (rooms/message.ts encodeSender). The sender is arbitrary text from a token
           (quotes, backslashes, control characters, anything); it is never passed or spliced raw.
  ARGV[9]  with KEYS[3]: how long KEYS[3] holds the message, in milliseconds from this publish (set
           once, never extended by a repeat); otherwise unused
  ARGV[10] the exclude field as JSON text made by the caller (rooms/message.ts encodeExclude): empty,
           or `,"exclude":` and a JSON string literal made by JSON.stringify; spliced after sender

  With KEYS[3] holding a message: returns that message JSON as it is, and stores and publishes nothing
  (whatever this call's event and data; the key names the message). Otherwise returns the message
  JSON, exactly as published: byte for byte what rooms/message.ts encodeMessage makes, fields in that
  order, data last. The JSON is built by splicing strings, never by cjson, which would change numbers
  and escape slashes in the data (and would encode the sender differently).
]]
if KEYS[3] then
  local original = redis.call('GET', KEYS[3])
  if original then return original end
end
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  -- A new history (first publish, expiry, or data loss): a stream left over would clash with seq 1.
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local now = redis.call('TIME')
local ms = now[1] .. string.format('%03d', math.floor(tonumber(now[2]) / 1000))
local message = '{"room":"' .. ARGV[3] .. '","seq":' .. seq .. ',"epoch":"' .. epoch .. '","event":"' .. ARGV[4]
  .. '","publishedAt":' .. ms .. ',"sender":' .. ARGV[8] .. ARGV[10] .. ',"data":' .. ARGV[5] .. '}'
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[6], seq .. '-0', 'm', message)
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
if KEYS[3] then redis.call('SET', KEYS[3], message, 'PX', ARGV[9]) end
redis.call('PUBLISH', ARGV[2], message)
return message
