-- setLinkedPodIfAbsent: returns the live link, or links the candidate pod when there is none.
-- KEYS[1] the link; ARGV: candidate pod, ttl ms (-1 persistent), tracked (0|1)
-- returns the candidate pod (an integer) when it was linked now, or
-- {pod, remaining ms (-1 persistent)} of the link that was there.
-- A new user costs one GET and one SET: no clock, no table.
local pod = pod_of(redis.call('GET', KEYS[1]))
if pod ~= nil then
  return {pod, remaining_ms(KEYS[1])}
end
write_link(KEYS[1], ARGV[1], ARGV[2])
keep_tracked(KEYS[1])
return tonumber(ARGV[1])
