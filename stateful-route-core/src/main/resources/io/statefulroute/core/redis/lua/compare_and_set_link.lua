-- Moves a user from an expected pod to a new pod; used to relink users of dead pods (where
-- no link at all also counts as expected), to hand a user over (where it does not), and by a
-- pod to restore the link of a user it holds (expected and new pod both itself), so two
-- callers moving the same user at once still agree on one pod.
-- KEYS[1] the link
-- ARGV: expected pod, new pod, ttl ms (-1 persistent), absent counts as expected (0|1),
--       change channel, change message, fence ('' none), tracked (0|1)
-- returns {linked pod (-1 none), changed (0|1), remaining ms (-1 persistent)}
local refused, now = fence_check(ARGV[7])
if refused then return refused end
local pod = pod_of(redis.call('GET', KEYS[1]))
if pod == nil and ARGV[4] ~= '1' then
  return {-1, 0, 0}
end
local remaining = pod and remaining_ms(KEYS[1])
if pod ~= nil and pod ~= tonumber(ARGV[1]) then
  return {pod, 0, remaining}
end
local new_pod = tonumber(ARGV[2])
write_link(KEYS[1], stamped(ARGV[2], now), ARGV[3])
keep_tracked(KEYS[1])
if pod ~= nil and (pod ~= new_pod or shortens(remaining, ARGV[3])) then notify_change(ARGV[5], ARGV[6]) end
return {new_pod, 1, tonumber(ARGV[3])}
