-- setLinkedPod: links the pod unconditionally; notifies gateways when the link moves or
-- now ends sooner.
-- KEYS[1] user's link hash; ARGV: service, pod, ttl ms (-1 persistent), change channel, change message, tracked (0|1)
-- returns the previously linked pod, or -1 when there was none
local now = now_ms()
local previous, previous_expire = live_link(KEYS[1], ARGV[1], now)
local pod = tonumber(ARGV[2])
local new_expire = write_link(KEYS[1], ARGV[1], pod, tonumber(ARGV[3]), now)
settle(KEYS[1], now)
keep_tracked(KEYS[1], ARGV[1])
if previous == nil then return -1 end
if previous ~= pod or shortens(previous_expire, new_expire) then notify_change(ARGV[4], ARGV[5]) end
return previous
