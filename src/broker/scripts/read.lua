--[[
  Roomcast read: the room's position and a slice of its history, in one consistent step.

  KEYS[1]  meta hash of the room (fields: epoch, seq)
  KEYS[2]  history stream of the room
  ARGV[1]  "after" or "latest"
  ARGV[2]  after: the seq to read after; latest: how many of the newest entries (0: position only)
  ARGV[3]  after: most entries to return

  Returns { epoch or false, seq, { message JSON, ... } }; entries oldest first for "after",
  newest first for "latest". A room without an epoch has no history: { false, 0, {} }.
]]
local epoch = redis.call('HGET', KEYS[1], 'epoch')
if not epoch then
  return { false, 0, {} }
end
local seq = tonumber(redis.call('HGET', KEYS[1], 'seq'))
local entries = {}
if ARGV[1] == 'latest' then
  if tonumber(ARGV[2]) > 0 then
    entries = redis.call('XREVRANGE', KEYS[2], '+', '-', 'COUNT', ARGV[2])
  end
else
  entries = redis.call('XRANGE', KEYS[2], '(' .. ARGV[2] .. '-0', '+', 'COUNT', ARGV[3])
end
local messages = {}
for i, entry in ipairs(entries) do
  messages[i] = entry[2][2]
end
return { epoch, seq, messages }
