-- trySetLinkedPod: links the pod unless a persistent link holds the user on another pod, or (a
-- fenced write) another pod was given the user after the write was decided; notifies gateways
-- when the link moves or now ends sooner. A persistent link to the pod that is asked for again is
-- left as it is: nothing to write, so nothing to replicate or invalidate.
-- KEYS[1] the link; ARGV: pod, ttl ms (-1 persistent), change channel, change message,
--       fence ('' none), tracked (0|1)
-- returns {success (0|1), linked pod}
local refused, now, decided = fence_check(ARGV[5])
if refused then return refused end
local wanted = tonumber(ARGV[1])
local value = redis.call('GET', KEYS[1])
local pod = pod_of(value)
local remaining = pod and remaining_ms(KEYS[1])
if pod ~= nil and remaining == -1 and (pod ~= wanted or ARGV[2] == '-1') then
  return {pod == wanted and 1 or 0, pod}
end
if pod ~= wanted then
  refused = taken_since(value, pod, decided)
  if refused then return refused end
end
write_link(KEYS[1], stamped(ARGV[1], now), ARGV[2])
keep_tracked(KEYS[1])
if pod ~= nil and (pod ~= wanted or shortens(remaining, ARGV[2])) then notify_change(ARGV[3], ARGV[4]) end
return {1, wanted}
