-- setServiceState (and, from pod 0, setWorkloadState): one pod's heartbeat.
-- The update time is Redis' clock, so gateways judge liveness without trusting pod clocks.
-- KEYS[1] service's pod-state hash, KEYS[2] service's workload key
-- ARGV: pod, routing state, load score, retention ms, workload ('' = leave as is),
--       address (percent-encoded, so without ':'; '' = none),
--       lease terms ("<pod expiry ms>,<relink grace ms>"; '' = none),
--       users ("<users>[,<max users>,<max load>]"; '' = none)
-- Entry: "<updatedMs>:<state>:<load>[:<address>[:<lease terms>[:<users>]]]" (a field empty when
-- there is none but a later one follows); readers ignore fields they do not know.
-- Pod entries older than the retention are dropped: pods that left long ago vanish. An entry
-- without a readable update time is another writer's: left alone.
local now = now_ms()
local retention = tonumber(ARGV[4])
local entry = string.format('%d', now) .. ':' .. ARGV[2] .. ':' .. ARGV[3]
local last = 5
for i = 6, 8 do
  if ARGV[i] ~= '' then last = i end
end
for i = 6, last do
  entry = entry .. ':' .. ARGV[i]
end
redis.call('HSET', KEYS[1], ARGV[1], entry)
local fields = redis.call('HGETALL', KEYS[1])
for i = 1, #fields, 2 do
  local updated = string.match(fields[i + 1], '^(%d+):')
  if updated ~= nil and tonumber(updated) < now - retention then
    redis.call('HDEL', KEYS[1], fields[i])
  end
end
redis.call('PEXPIRE', KEYS[1], retention)
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[2], string.format('%d', now) .. ':' .. ARGV[5], 'PX', retention)
end
return now
