-- Every replica, periodically: its heartbeat, then the claim of replicas silent for longer than
-- deadAfterMs. KEYS[2]: the replicas being reaped (set). ARGV: instance, fresh, deadAfterMs, the
-- prefix of the instances' room sets, how many rooms to hand out.
-- Returns { 1 if the instance is registered else 0, { { dead instance, { room, ... } }, ... } }: the
-- rooms where the caller releases those holds (release.lua), then reports them done (reaped.lua).
local live = alive(ARGV[1], ARGV[2])
if live then redis.call('ZADD', replicas, now, ARGV[1]) end
-- Claimed at once: a claimed replica that comes back finds itself gone and starts anew (redis.ts).
for _, dead in ipairs(redis.call('ZRANGEBYSCORE', replicas, '-inf', now - tonumber(ARGV[3]))) do
  redis.call('ZREM', replicas, dead)
  redis.call('SADD', KEYS[2], dead)
end
local budget = tonumber(ARGV[5])
local work = {}
for _, dead in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if budget <= 0 then break end
  local rooms = redis.call('SRANDMEMBER', ARGV[4] .. dead, budget)
  if #rooms == 0 then
    redis.call('SREM', KEYS[2], dead)
  else
    work[#work + 1] = { dead, rooms }
    budget = budget - #rooms
  end
end
return { live and 1 or 0, work }
