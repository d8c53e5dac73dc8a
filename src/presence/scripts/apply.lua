-- A batch of one replica's holds. ARGV: prefix, instance, fresh, then per hold: room, member key,
-- identity JSON ('' to release). Returns 0, changing nothing, when the instance was reaped.
local instance = ARGV[2]
if not alive(instance, ARGV[3]) then return 0 end
for i = 4, #ARGV, 3 do
  if ARGV[i + 2] == '' then
    release(instance, ARGV[i], ARGV[i + 1])
  else
    hold(instance, ARGV[i], ARGV[i + 1], ARGV[i + 2])
  end
end
publishAll()
return 1
