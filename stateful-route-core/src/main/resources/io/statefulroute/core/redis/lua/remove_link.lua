-- removeLinkedPod / removeLinkedPodWithId: deletes the link, or turns it into a temporary
-- link for a grace period; with an expected pod, only if the user is still linked to it.
-- KEYS[1] user's link hash
-- ARGV: service, grace ms (0 = delete now), expected pod (-1 = any), change channel, change message, tracked (0|1)
-- returns {removed (0|1), linked pod before the call (-1 = none)}
local now = now_ms()
local pod = live_link(KEYS[1], ARGV[1], now)
if pod == nil then return {0, -1} end
local expected = tonumber(ARGV[3])
if expected ~= -1 and pod ~= expected then return {0, pod} end
local grace = tonumber(ARGV[2])
if grace > 0 then
  write_link(KEYS[1], ARGV[1], pod, grace, now)
else
  redis.call('HDEL', KEYS[1], ARGV[1])
end
settle(KEYS[1], now)
keep_tracked(KEYS[1], ARGV[1])
-- a grace period shortens the link's life, so cached copies must go too
notify_change(ARGV[4], ARGV[5])
return {1, pod}
