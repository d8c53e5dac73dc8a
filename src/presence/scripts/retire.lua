-- A replica stops: it is taken for dead graceMs from now, and the others reap its holds then.
-- ARGV: prefix, instance, deadAfterMs, graceMs.
if redis.call('ZSCORE', replicas, ARGV[2]) then
  redis.call('ZADD', replicas, now - tonumber(ARGV[3]) + tonumber(ARGV[4]), ARGV[2])
end
return 1
