-- setLinkedPodIfAbsent: returns the live link, or links the candidate pod when there is none.
-- KEYS[1] user's link hash; ARGV: service, candidate pod, ttl ms (-1 persistent), tracked (0|1)
-- returns {pod, created (0|1), remaining ms (-1 persistent)}
-- One read of the whole hash finds the link and tells whether the user has others: a new
-- user's key gets its link and its expiry and nothing else (no second read, no scan).
local now = now_ms()
local fields = redis.call('HGETALL', KEYS[1])
local value
for i = 1, #fields, 2 do
  if fields[i] == ARGV[1] then
    value = fields[i + 1]
    break
  end
end
local pod, expire_at = live_value(value, now)
if pod ~= nil then
  return {pod, 0, remaining_ms(expire_at, now)}
end
local candidate = tonumber(ARGV[2])
local new_expire = write_link(KEYS[1], ARGV[1], candidate, tonumber(ARGV[3]), now)
if #fields == 0 then
  if new_expire ~= -1 then redis.call('PEXPIREAT', KEYS[1], new_expire) end
else
  settle_fields(KEYS[1], fields, now, ARGV[1], new_expire)
end
keep_tracked(KEYS[1], ARGV[1])
return {candidate, 1, remaining_ms(new_expire, now)}
