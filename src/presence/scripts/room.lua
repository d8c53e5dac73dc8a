-- Prepended to apply.lua and release.lua: the presence of one room, and one replica's holds in it.
-- Every key is under the room's hash tag (redis-keys.ts), so a call touches one Redis Cluster slot.
-- KEYS: members (hash), order (sorted set), holders (hash: member key -> replicas holding it), the
-- replica's holds in the room (set of member keys). ARGV[1]: the room's events channel.
local members, order, holders, held = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local time = redis.call('TIME')
-- One clock for every replica: Redis's, in ms.
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- The events of this call, published once at the end, each with the count right after it.
local events = {}
local function emit(action, member)
  events[#events + 1] = '{"action":"' .. action .. '","count":' .. redis.call('HLEN', members) .. ',"member":' .. member .. '}'
end
local function publishAll()
  if #events > 0 then redis.call('PUBLISH', ARGV[1], '[' .. table.concat(events, ',') .. ']') end
end

-- Idempotent: holding what the replica already holds does nothing.
local function hold(key, identity)
  if redis.call('SADD', held, key) == 0 then return end
  if redis.call('HINCRBY', holders, key, 1) > 1 then return end
  -- The identity is JSON made by the server: spliced, never decoded (cjson would alter numbers in info).
  local member = '{"joinedAt":' .. string.format('%d', now) .. ',' .. string.sub(identity, 2)
  redis.call('HSET', members, key, member)
  redis.call('ZADD', order, now, key)
  emit('JOIN', member)
end

-- Idempotent: releasing what the replica does not hold does nothing.
local function release(key)
  if redis.call('SREM', held, key) == 0 then return end
  if redis.call('HINCRBY', holders, key, -1) > 0 then return end
  local member = redis.call('HGET', members, key)
  redis.call('HDEL', holders, key)
  redis.call('HDEL', members, key)
  redis.call('ZREM', order, key)
  if member then emit('LEAVE', member) end
end
