-- KEYS: 1 lock, 2 msg tracker, 3 data tracker, 4 files set
-- ARGV: 1 token, 2 status, 3 reason, 4 data_id, 5 dedup ttl s, 6 now,
--       7 data status ('' = leave), 8 pubtime ms, 9 msg id, 10 files ttl s,
--       11 n files, files..., n metrics, (key, field, increment)...
if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
end
redis.call('HSET', KEYS[2], 'status', ARGV[2], 'reason', ARGV[3], 'data_id', ARGV[4], 'updated', ARGV[6])
redis.call('EXPIRE', KEYS[2], ARGV[5])
if ARGV[7] ~= '' then
  redis.call('HSET', KEYS[3], 'status', ARGV[7], 'pubtime', ARGV[8], 'msg_id', ARGV[9], 'updated', ARGV[6])
  redis.call('EXPIRE', KEYS[3], ARGV[5])
  if ARGV[7] == 'DELETED' or ARGV[7] == 'SUCCESS' then
    -- a new version replaces the set of stored paths; a deletion empties it
    redis.call('DEL', KEYS[4])
  end
end
local i = 11
local n = tonumber(ARGV[i])
for j = 1, n do
  redis.call('SADD', KEYS[4], ARGV[i + j])
end
if n > 0 then
  redis.call('EXPIRE', KEYS[4], ARGV[10])
end
i = i + n + 1
local m = tonumber(ARGV[i])
for j = 0, m - 1 do
  local k = i + 1 + 3 * j
  redis.call('HINCRBYFLOAT', ARGV[k], ARGV[k + 1], ARGV[k + 2])
end
return 1
