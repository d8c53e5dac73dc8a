-- Rooms where a dead replica holds nothing any more: off its room set; once that is empty, it is
-- reaped. KEYS[1]: the replicas being reaped, KEYS[2]: the dead instance's rooms. ARGV: dead, rooms.
redis.call('SREM', KEYS[2], unpack(ARGV, 2))
if redis.call('SCARD', KEYS[2]) == 0 then redis.call('SREM', KEYS[1], ARGV[1]) end
return 1
