-- setLinkedPod: links the pod whatever pod it links now, unless (a fenced write) another pod was
-- given the user after the write was decided; notifies gateways when the link moves or now ends
-- sooner.
-- KEYS[1] the link; ARGV: pod, ttl ms (-1 persistent), change channel, change message,
--       fence ('' none), tracked (0|1)
-- returns the previously linked pod, or -1 when there was none
local refused, now, decided = fence_check(ARGV[5])
if refused then return refused end
local value = redis.call('GET', KEYS[1])
local previous = pod_of(value)
if previous ~= tonumber(ARGV[1]) then
  refused = taken_since(value, previous, decided)
  if refused then return refused end
end
local previous_remaining = previous and remaining_ms(KEYS[1])
write_link(KEYS[1], stamped(ARGV[1], now), ARGV[2])
keep_tracked(KEYS[1])
if previous == nil then return -1 end
if previous ~= tonumber(ARGV[1]) or shortens(previous_remaining, ARGV[2]) then notify_change(ARGV[3], ARGV[4]) end
return previous
