-- getLinkedPod: the live link of one service.
-- KEYS[1] user's link hash; ARGV: service
-- returns {pod, remaining ms (-1 persistent)} or {} when there is no live link
local now = now_ms()
local pod, expire_at = live_link(KEYS[1], ARGV[1], now)
if pod == nil then return {} end
return {pod, remaining_ms(expire_at, now)}
