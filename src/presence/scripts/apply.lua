-- A batch of one replica's holds in one room. ARGV after the channel: per hold, the member key and
-- its identity JSON ('' to release). Returns how many holds the replica has left in the room.
for i = 2, #ARGV, 2 do
  if ARGV[i + 1] == '' then
    release(ARGV[i])
  else
    hold(ARGV[i], ARGV[i + 1])
  end
end
publishAll()
return redis.call('SCARD', held)
