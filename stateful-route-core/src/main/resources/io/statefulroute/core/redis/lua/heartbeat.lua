-- setServiceState (and, from pod 0, setWorkloadState): one pod's heartbeat.
-- The update time is Redis' clock, so gateways judge liveness without trusting pod clocks.
-- KEYS[1] service's pod-state hash, KEYS[2] service's workload key
-- ARGV: pod, routing state, load score, retention ms, workload ('' = leave as is),
--       address (percent-encoded, so without ':'; '' = none),
--       lease terms ("<pod expiry ms>,<relink grace ms>"; '' = none),
--       users ("<users>[,<max users>,<max load>]"; '' = none),
--       ms the pod has been routable ('' = not routable, or no warm-up),
--       warm-up ("<duration ms>,<aggression>,<minimum weight>", with the former)
-- Entry: "<updatedMs>:<state>:<load>[:<address>[:<lease terms>[:<users>[:<warm-up>]]]]" (a field
-- empty when there is none but a later one follows), the warm-up field starting with when the
-- pod became routable on Redis' clock, so that every gateway ramps it alike; readers ignore
-- fields they do not know.
-- Pod entries older than the retention are dropped: pods that left long ago vanish. An entry
-- without a readable update time is another writer's: left alone.
local now = now_ms()
local retention = tonumber(ARGV[4])
local entry = string.format('%d', now) .. ':' .. ARGV[2] .. ':' .. ARGV[3]
local fields = { ARGV[6], ARGV[7], ARGV[8], '' }
if ARGV[9] ~= '' then
  fields[4] = string.format('%d', now - tonumber(ARGV[9])) .. ',' .. ARGV[10]
end
local last = 0
for i = 1, 4 do
  if fields[i] ~= '' then last = i end
end
for i = 1, last do
  entry = entry .. ':' .. fields[i]
end
redis.call('HSET', KEYS[1], ARGV[1], entry)
local entries = redis.call('HGETALL', KEYS[1])
for i = 1, #entries, 2 do
  local updated = string.match(entries[i + 1], '^(%d+):')
  if updated ~= nil and tonumber(updated) < now - retention then
    redis.call('HDEL', KEYS[1], entries[i])
  end
end
redis.call('PEXPIRE', KEYS[1], retention)
if ARGV[5] ~= '' then
  redis.call('SET', KEYS[2], string.format('%d', now) .. ':' .. ARGV[5], 'PX', retention)
end
return now
