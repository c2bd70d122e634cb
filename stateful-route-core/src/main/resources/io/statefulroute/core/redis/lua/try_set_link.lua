-- trySetLinkedPod: links the pod unless a persistent link holds the user on another pod.
-- KEYS[1] user's link hash; ARGV: service, pod, ttl ms (-1 persistent), change channel, change message
-- returns {success (0|1), linked pod}
local now = now_ms()
local wanted = tonumber(ARGV[2])
local pod, expire_at = live_link(KEYS[1], ARGV[1], now)
if pod ~= nil and expire_at == -1 and pod ~= wanted then
  return {0, pod}
end
write_link(KEYS[1], ARGV[1], wanted, tonumber(ARGV[3]), now)
settle(KEYS[1], now)
if pod ~= nil and pod ~= wanted then notify_change(ARGV[4], ARGV[5]) end
return {1, wanted}
