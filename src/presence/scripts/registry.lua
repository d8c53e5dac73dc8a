-- Prepended to register.lua, tick.lua and retire.lua: the replicas, under the hash tag {presence}
-- (redis-keys.ts), so a call touches one Redis Cluster slot. KEYS[1]: the replicas (sorted set,
-- instance -> last heartbeat, Redis time in ms).
local replicas = KEYS[1]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)

-- A new instance registers ('1'); a known one is alive while it is registered (reaping removes it).
local function alive(instance, fresh)
  if fresh == '1' then
    redis.call('ZADD', replicas, now, instance)
    return true
  end
  return redis.call('ZSCORE', replicas, instance) ~= false
end
