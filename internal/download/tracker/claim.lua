-- KEYS: 1 data tracker, 2 lock, 3 msg tracker, 4 notifications_total, 5 skipped_total, 6 files set
-- ARGV: 1 pubtime ms, 2 lock token, 3 lock ttl ms, 4 dedup ttl s, 5 data_id,
--       6 notifications field (skipped), 7 skipped field (duplicate), 8 now, 9 want files
-- Returns {0} duplicate (recorded), {1, files...} locked, {2} busy.
local cur = redis.call('HMGET', KEYS[1], 'status', 'pubtime')
if (cur[1] == 'SUCCESS' or cur[1] == 'DELETED' or cur[1] == 'REJECTED') and tonumber(cur[2] or '-1') >= tonumber(ARGV[1]) then
  local prev = redis.call('HGET', KEYS[3], 'status')
  if prev ~= 'SUCCESS' and prev ~= 'FAILED' then
    redis.call('HSET', KEYS[3], 'status', 'SKIPPED', 'reason', 'duplicate', 'data_id', ARGV[5], 'updated', ARGV[8])
    redis.call('EXPIRE', KEYS[3], ARGV[4])
  end
  redis.call('HINCRBYFLOAT', KEYS[4], ARGV[6], 1)
  redis.call('HINCRBYFLOAT', KEYS[5], ARGV[7], 1)
  return {0}
end
if not redis.call('SET', KEYS[2], ARGV[2], 'NX', 'PX', ARGV[3]) then
  if redis.call('GET', KEYS[2]) ~= ARGV[2] then
    return {2}
  end
  redis.call('PEXPIRE', KEYS[2], ARGV[3])
end
redis.call('HSET', KEYS[3], 'status', 'PENDING', 'data_id', ARGV[5], 'updated', ARGV[8])
redis.call('EXPIRE', KEYS[3], ARGV[4])
if ARGV[9] == '1' then
  local files = redis.call('SMEMBERS', KEYS[6])
  table.insert(files, 1, 1)
  return files
end
return {1}
