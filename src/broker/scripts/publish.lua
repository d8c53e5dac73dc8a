--[[
  Roomcast publish, protocol version 2 (docs/redis-protocol.md, which other languages follow): assign
  the room's next seq, append to its bounded history, publish to every replica. Atomic, so every
  replica sees one order per room, and a repeated idempotency key is answered in the same step as the
  append it guards: two attempts with one key can never both publish. Run by the server and by
  roomcast/publisher (src/broker/redis-publish.ts), and by any backend with EVALSHA.

  KEYS[1]  meta hash of the room (fields: epoch, seq, v = the layout version of the stored data)
  KEYS[2]  history stream of the room (entry id = "<seq>-0", field m = the message JSON)
  KEYS[3]  pub/sub channel of the room: a KEY, with the room's hash tag, so that on Redis Cluster the
           call runs on the shard whose subscribers SSUBSCRIBE to it
  KEYS[4]  optional: the idempotency key of this publish (room's hash tag, then a hash of sender and
           key), a string holding the message JSON first published under it
  ARGV[1]  epoch to use when the room has none (random, made by the caller: 1-32 of A-Z a-z 0-9 _ -)
  ARGV[2]  how to send it: PUBLISH (one Redis, Sentinel) or SPUBLISH (sharded pub/sub, Redis Cluster)
  ARGV[3]  room id: 1-128 of A-Z a-z 0-9 _ . : -, or * (broadcasts), so it needs no JSON escaping
  ARGV[4]  event name: 1-64 of the same set
  ARGV[5]  data, as JSON text made by the caller
  ARGV[6]  history size: entries kept (exact MAXLEN, so gaps are exact even for small sizes)
  ARGV[7]  time to live of the room's keys after this publish, in milliseconds
  ARGV[8]  sender, as JSON text made by the caller: `null`, or a JSON string literal made by
           JSON.stringify (rooms/message.ts encodeSender). The sender is arbitrary text from a token
           or a backend (quotes, backslashes, control characters, anything); it is never passed or
           spliced raw.
  ARGV[9]  with KEYS[4]: how long KEYS[4] holds the message, in milliseconds from this publish (set
           once, never extended by a repeat); otherwise unused
  ARGV[10] the exclude field as JSON text made by the caller (rooms/message.ts encodeExclude): empty,
           or `,"exclude":` and a JSON string literal made by JSON.stringify; spliced after sender

  Arguments are checked before anything is written (a script is not rolled back when it fails half
  way): a malformed one is refused with an error reply starting ROOMCAST_BAD_ARGUMENT, and a room
  whose meta hash carries another layout version with one starting ROOMCAST_PROTOCOL. The data is
  not parsed (that would cost as much as the rest): the caller must pass valid JSON.

  With KEYS[4] holding a message: returns that message JSON as it is, and stores and publishes nothing
  (whatever this call's event and data; the key names the message). Otherwise returns the message
  JSON, exactly as published: byte for byte what rooms/message.ts encodeMessage makes, fields in that
  order, data last. The JSON is built by splicing strings, never by cjson, which would change numbers
  and escape slashes in the data (and would encode the sender differently).
]]
local VERSION = '2'
-- The stored data's layout (keys, fields, message encoding), written into each room's meta hash: it
-- changes only when the data does, so releases whose scripts differ in their arguments alone share rooms.
local LAYOUT = '1'

local function bad(what)
  return redis.error_reply('ROOMCAST_BAD_ARGUMENT ' .. what)
end
-- Room ids and event names go into JSON and key names unescaped: only their safe character set.
local function name(text, longest)
  return #text >= 1 and #text <= longest and string.find(text, '^[%w_.:%-]+$') ~= nil
end
local function count(text)
  return string.find(text, '^[1-9]%d*$') ~= nil
end
local function quoted(text)
  return #text >= 2 and string.sub(text, 1, 1) == '"' and string.sub(text, -1) == '"'
end

if not (ARGV[3] == '*' or name(ARGV[3], 128)) then return bad('room (ARGV[3])') end
if not name(ARGV[4], 64) then return bad('event (ARGV[4])') end
if not (#ARGV[1] <= 32 and string.find(ARGV[1], '^[%w_%-]+$')) then return bad('epoch (ARGV[1])') end
if not (ARGV[2] == 'PUBLISH' or ARGV[2] == 'SPUBLISH') then return bad('publish command (ARGV[2])') end
-- Message.data is never null (JSON!): a null would make every read of the room's history fail.
if #ARGV[5] == 0 or ARGV[5] == 'null' then return bad('data (ARGV[5])') end
if not (count(ARGV[6]) and count(ARGV[7])) then return bad('history size or time to live (ARGV[6], ARGV[7])') end
if not (ARGV[8] == 'null' or quoted(ARGV[8])) then return bad('sender (ARGV[8])') end
if KEYS[4] and not count(ARGV[9]) then return bad('idempotency time to live (ARGV[9])') end
if not (ARGV[10] == '' or (string.sub(ARGV[10], 1, 12) == ',"exclude":"' and quoted(string.sub(ARGV[10], 12)))) then
  return bad('exclude (ARGV[10])')
end

if KEYS[4] then
  local original = redis.call('GET', KEYS[4])
  if original then return original end
end
local meta = redis.call('HMGET', KEYS[1], 'epoch', 'v')
local epoch = meta[1]
if meta[2] and meta[2] ~= LAYOUT then
  return redis.error_reply('ROOMCAST_PROTOCOL the room was written in layout version ' .. meta[2] .. '; this script (protocol version ' .. VERSION .. ') writes layout version ' .. LAYOUT)
end
if not epoch then
  -- A new history (first publish, expiry, or data loss): a stream left over would clash with seq 1.
  epoch = ARGV[1]
  redis.call('DEL', KEYS[2])
  redis.call('HSET', KEYS[1], 'epoch', epoch, 'seq', 0, 'v', LAYOUT)
elseif not meta[2] then
  -- Stored before the layout had a version: it is version 1's, marked as such from now on.
  redis.call('HSET', KEYS[1], 'v', LAYOUT)
end
local seq = redis.call('HINCRBY', KEYS[1], 'seq', 1)
local now = redis.call('TIME')
local ms = now[1] .. string.format('%03d', math.floor(tonumber(now[2]) / 1000))
local message = '{"room":"' .. ARGV[3] .. '","seq":' .. seq .. ',"epoch":"' .. epoch .. '","event":"' .. ARGV[4]
  .. '","publishedAt":' .. ms .. ',"sender":' .. ARGV[8] .. ARGV[10] .. ',"data":' .. ARGV[5] .. '}'
redis.call('XADD', KEYS[2], 'MAXLEN', ARGV[6], seq .. '-0', 'm', message)
redis.call('PEXPIRE', KEYS[1], ARGV[7])
redis.call('PEXPIRE', KEYS[2], ARGV[7])
if KEYS[4] then redis.call('SET', KEYS[4], message, 'PX', ARGV[9]) end
redis.call(ARGV[2], KEYS[3], message)
return message
