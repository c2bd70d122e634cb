-- setLinkedPodIfAbsent: returns the live link, or links the candidate pod when there is none.
-- KEYS[1] user's link hash; ARGV: service, candidate pod, ttl ms (-1 persistent)
-- returns {pod, created (0|1), remaining ms (-1 persistent)}
local now = now_ms()
local pod, expire_at = live_link(KEYS[1], ARGV[1], now)
if pod ~= nil then
  return {pod, 0, remaining_ms(expire_at, now)}
end
local candidate = tonumber(ARGV[2])
local new_expire = write_link(KEYS[1], ARGV[1], candidate, tonumber(ARGV[3]), now)
settle(KEYS[1], now)
return {candidate, 1, remaining_ms(new_expire, now)}
