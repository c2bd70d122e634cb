-- setLinkedPod: links the pod unconditionally.
-- KEYS[1] user's link hash; ARGV: service, pod, ttl ms (-1 persistent)
-- returns the previously linked pod, or -1 when there was none
local now = now_ms()
local previous = live_link(KEYS[1], ARGV[1], now)
write_link(KEYS[1], ARGV[1], tonumber(ARGV[2]), tonumber(ARGV[3]), now)
settle(KEYS[1], now)
if previous == nil then return -1 end
return previous
