-- Moves a user from an expected pod (or from no link) to a new pod; used to relink
-- users of dead pods, so two gateways relinking at once still agree on one pod.
-- KEYS[1] user's link hash; ARGV: service, expected pod, new pod, ttl ms (-1 persistent)
-- returns {linked pod, changed (0|1), remaining ms (-1 persistent)}
local now = now_ms()
local pod, expire_at = live_link(KEYS[1], ARGV[1], now)
if pod ~= nil and pod ~= tonumber(ARGV[2]) then
  return {pod, 0, remaining_ms(expire_at, now)}
end
local new_pod = tonumber(ARGV[3])
local new_expire = write_link(KEYS[1], ARGV[1], new_pod, tonumber(ARGV[4]), now)
settle(KEYS[1], now)
return {new_pod, 1, remaining_ms(new_expire, now)}
