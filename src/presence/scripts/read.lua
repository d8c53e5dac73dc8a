-- One room's count and its earliest members, read together. KEYS: members, order. ARGV: limit.
local keys = redis.call('ZRANGE', KEYS[2], 0, tonumber(ARGV[1]) - 1)
local members = {}
if #keys > 0 then members = redis.call('HMGET', KEYS[1], unpack(keys)) end
return { redis.call('HLEN', KEYS[1]), members }
