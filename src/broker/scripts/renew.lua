--[[
  Roomcast renew: ends a room's history when its epoch is still the one given, so that its next
  publish starts a new epoch (seq 1) and every cursor of the old one resumes with HistoryGap(missed:
  null). A replica calls it when the room's head went back behind a message it had already delivered:
  Redis lost acknowledged messages (a failover to a replica that had not received them, a restart
  from an older snapshot), and the room's next seqs would name messages other than the ones clients hold.

  KEYS[1]  meta hash of the room (fields: epoch, seq, v)
  KEYS[2]  history stream of the room
  ARGV[1]  the epoch that went back

  Returns 1 when it ended the history, 0 when the room had already moved to another epoch (or none).
]]
if redis.call('HGET', KEYS[1], 'epoch') ~= ARGV[1] then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
return 1
