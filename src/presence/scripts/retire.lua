-- A replica stops: it is taken for dead graceMs from now, and the others reap its holds then.
-- ARGV: instance, deadAfterMs, graceMs.
if redis.call('ZSCORE', replicas, ARGV[1]) then
  redis.call('ZADD', replicas, now - tonumber(ARGV[2]) + tonumber(ARGV[3]), ARGV[1])
end
return 1
