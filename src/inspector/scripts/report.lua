--[[
  Stores one replica's report of its rooms and indexes it (src/inspector/redis.ts).

  KEYS[1]  the index: sorted set, instance -> last report time (ms, Redis time)
  KEYS[2]  the instance's report key
  ARGV[1]  the instance id
  ARGV[2]  the report (JSON)
  ARGV[3]  how long the report lives (ms): 3 reporting intervals

  Returns the Redis time of the report (ms). Index entries older than a report's lifetime are removed
  here, by Redis's own clock, so replicas with skewed clocks never remove each other's.
]]
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local ttl = tonumber(ARGV[3])
redis.call('SET', KEYS[2], ARGV[2], 'PX', ttl)
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - ttl)
return now
