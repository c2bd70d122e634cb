-- removeLinkedPod / removeLinkedPodWithId: deletes the link, or turns it into a temporary
-- link for a grace period; with an expected pod, only if the user is still linked to it.
-- KEYS[1] the link
-- ARGV: grace ms (0 = delete now), expected pod (-1 = any), change channel, change message,
--       fence ('' none), tracked (0|1)
-- returns {removed (0|1), linked pod before the call (-1 = none)}
local refused = fence_check(ARGV[5])
if refused then return refused end
local pod = pod_of(redis.call('GET', KEYS[1]))
if pod == nil then return {0, -1} end
local expected = tonumber(ARGV[2])
if expected ~= -1 and pod ~= expected then return {0, pod} end
if ARGV[1] ~= '0' then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
else
  redis.call('DEL', KEYS[1])
end
keep_tracked(KEYS[1])
-- a grace period shortens the link's life, so cached copies must go too
notify_change(ARGV[3], ARGV[4])
return {1, pod}
