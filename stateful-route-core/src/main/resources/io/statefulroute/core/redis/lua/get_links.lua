-- getLinkService: every live link of a user.
-- KEYS[1] user's link hash
-- returns {not understood, service, pod, service, pod, ...}: the count of link values that
-- were skipped as not understood (the caller counts them), then the live links
local now = now_ms()
local fields = redis.call('HGETALL', KEYS[1])
local result = {0}
for i = 1, #fields, 2 do
  local pod, expire_at = parse_link(fields[i + 1])
  if pod == nil then
    result[1] = result[1] + 1
  elseif expire_at == -1 or expire_at > now then
    result[#result + 1] = fields[i]
    result[#result + 1] = pod
  end
end
return result
