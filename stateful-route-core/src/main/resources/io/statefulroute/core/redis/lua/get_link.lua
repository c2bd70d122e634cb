-- getLinkedPod: the live link of one service.
-- KEYS[1] user's link hash; ARGV: service
-- returns {pod, remaining ms (-1 persistent)}, {} when there is no live link,
-- or {-1} when the stored value is not understood (read as no link; the caller counts it)
local now = now_ms()
local pod, expire_at, malformed = live_link(KEYS[1], ARGV[1], now)
if malformed then return {-1} end
if pod == nil then return {} end
return {pod, remaining_ms(expire_at, now)}
