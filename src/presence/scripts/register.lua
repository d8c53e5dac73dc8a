-- Before a replica's holds in rooms it had none in: records those rooms, so that whoever reaps it
-- knows where to look, and drops rooms it holds nothing in any more. KEYS[2]: the instance's rooms
-- (set). ARGV: instance, fresh, how many rooms to add, those rooms, then the rooms to drop.
-- Returns 0, changing nothing, when the instance was reaped (or Redis lost it).
if not alive(ARGV[1], ARGV[2]) then return 0 end
local adds = tonumber(ARGV[3])
if adds > 0 then redis.call('SADD', KEYS[2], unpack(ARGV, 4, 3 + adds)) end
if #ARGV > 3 + adds then redis.call('SREM', KEYS[2], unpack(ARGV, 4 + adds)) end
return 1
