-- getLinkedPod: the live link of one service.
-- KEYS[1] the link
-- returns {pod, remaining ms (-1 persistent)}, {} when there is no live link,
-- or {-1} when the stored value is not understood (read as no link; the caller counts it)
local pod, malformed = pod_of(redis.call('GET', KEYS[1]))
if malformed then return {-1} end
if pod == nil then return {} end
return {pod, remaining_ms(KEYS[1])}
