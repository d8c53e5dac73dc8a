-- Prepended to apply.lua, tick.lua and retire.lua: one replica's holds (redis.ts describes the keys).
-- The scripts name keys of several rooms from ARGV[1], the prefix: fine on one Redis, which is what
-- Roomcast runs on, but not on Redis Cluster.
local prefix = ARGV[1]
local time = redis.call('TIME')
-- One clock for every replica: Redis's, in ms.
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local replicas = prefix .. 'presence:replicas'

local function heldBy(instance) return prefix .. 'presence:replica:' .. instance end
local function roomKey(room, suffix) return prefix .. '{' .. room .. '}:presence' .. suffix end

-- Events of this call, per room, published once at the end: one PUBLISH per room per call.
local events, rooms = {}, {}
local function emit(room, action, member, count)
  local list = events[room]
  if not list then
    list = {}
    events[room] = list
    rooms[#rooms + 1] = room
  end
  list[#list + 1] = '{"action":"' .. action .. '","count":' .. count .. ',"member":' .. member .. '}'
end

local function publishAll()
  for _, room in ipairs(rooms) do
    redis.call('PUBLISH', roomKey(room, ':events'), '[' .. table.concat(events[room], ',') .. ']')
  end
end

-- Idempotent: holding what the replica already holds does nothing.
local function hold(instance, room, key, identity)
  if redis.call('SADD', heldBy(instance), room .. ' ' .. key) == 0 then return end
  if redis.call('HINCRBY', roomKey(room, ':holders'), key, 1) > 1 then return end
  -- The identity is JSON made by the server: spliced, never decoded (cjson would alter numbers in info).
  local member = '{"joinedAt":' .. string.format('%d', now) .. ',' .. string.sub(identity, 2)
  redis.call('HSET', roomKey(room, ''), key, member)
  redis.call('ZADD', roomKey(room, ':order'), now, key)
  emit(room, 'JOIN', member, redis.call('HLEN', roomKey(room, '')))
end

-- Idempotent: releasing what the replica does not hold does nothing.
local function release(instance, room, key)
  if redis.call('SREM', heldBy(instance), room .. ' ' .. key) == 0 then return end
  if redis.call('HINCRBY', roomKey(room, ':holders'), key, -1) > 0 then return end
  local member = redis.call('HGET', roomKey(room, ''), key)
  redis.call('HDEL', roomKey(room, ':holders'), key)
  redis.call('HDEL', roomKey(room, ''), key)
  redis.call('ZREM', roomKey(room, ':order'), key)
  if member then emit(room, 'LEAVE', member, redis.call('HLEN', roomKey(room, ''))) end
end

-- A new instance registers ('1'); a known one is alive while it is registered (reaping removes it).
local function alive(instance, fresh)
  if fresh == '1' then
    redis.call('ZADD', replicas, now, instance)
    return true
  end
  return redis.call('ZSCORE', replicas, instance) ~= false
end
