-- trySetLinkedPod: links the pod unless a persistent link holds the user on another pod;
-- notifies gateways when the link moves or now ends sooner.
-- KEYS[1] user's link hash; ARGV: service, pod, ttl ms (-1 persistent), change channel, change message, tracked (0|1)
-- returns {success (0|1), linked pod}
local now = now_ms()
local wanted = tonumber(ARGV[2])
local pod, expire_at = live_link(KEYS[1], ARGV[1], now)
if pod ~= nil and expire_at == -1 and pod ~= wanted then
  return {0, pod}
end
local new_expire = write_link(KEYS[1], ARGV[1], wanted, tonumber(ARGV[3]), now)
settle(KEYS[1], now)
keep_tracked(KEYS[1], ARGV[1])
if pod ~= nil and (pod ~= wanted or shortens(expire_at, new_expire)) then notify_change(ARGV[4], ARGV[5]) end
return {1, wanted}
