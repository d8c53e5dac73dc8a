-- Every replica, periodically: its heartbeat, then the reaping of replicas silent for longer than
-- deadAfterMs, at most `budget` holds per call. ARGV: prefix, instance, fresh, deadAfterMs, budget.
-- Returns { 1 if the instance is registered else 0, replicas still being reaped }.
local instance = ARGV[2]
local live = alive(instance, ARGV[3])
if live then redis.call('ZADD', replicas, now, instance) end
-- Claimed at once: a claimed replica that comes back finds itself gone and starts anew (redis.ts).
local reaping = prefix .. 'presence:reaping'
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', replicas, '-inf', now - tonumber(ARGV[4]))) do
  redis.call('ZREM', replicas, dead)
  redis.call('SADD', reaping, dead)
end
local budget = tonumber(ARGV[5])
for _, dead in ipairs(redis.call('SMEMBERS', reaping)) do
  if budget <= 0 then break end
  local held = redis.call('SRANDMEMBER', heldBy(dead), budget)
  for _, id in ipairs(held) do
    local space = string.find(id, ' ', 1, true)
    release(dead, string.sub(id, 1, space - 1), string.sub(id, space + 1))
  end
  budget = budget - #held
  if redis.call('EXISTS', heldBy(dead)) == 0 then redis.call('SREM', reaping, dead) end
end
publishAll()
return { live and 1 or 0, redis.call('SCARD', reaping) }
