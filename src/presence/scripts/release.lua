-- Reaping: releases at most ARGV[2] holds of a replica taken for dead in one room, with a LEAVE for
-- each member no other replica holds. Returns how many of its holds are left there.
for _, key in ipairs(redis.call('SRANDMEMBER', held, tonumber(ARGV[2]))) do release(key) end
publishAll()
return redis.call('SCARD', held)
