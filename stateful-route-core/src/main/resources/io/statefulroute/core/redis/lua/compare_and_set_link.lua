-- Moves a user from an expected pod to a new pod; used to relink users of dead pods (where
-- no link at all also counts as expected) and to hand a user over (where it does not), so
-- two callers moving the same user at once still agree on one pod.
-- KEYS[1] user's link hash
-- ARGV: service, expected pod, new pod, ttl ms (-1 persistent), absent counts as expected (0|1),
--       change channel, change message, tracked (0|1)
-- returns {linked pod (-1 none), changed (0|1), remaining ms (-1 persistent)}
local now = now_ms()
local pod, expire_at = live_link(KEYS[1], ARGV[1], now)
if pod == nil and ARGV[5] ~= '1' then
  return {-1, 0, 0}
end
if pod ~= nil and pod ~= tonumber(ARGV[2]) then
  return {pod, 0, remaining_ms(expire_at, now)}
end
local new_pod = tonumber(ARGV[3])
local new_expire = write_link(KEYS[1], ARGV[1], new_pod, tonumber(ARGV[4]), now)
settle(KEYS[1], now)
keep_tracked(KEYS[1], ARGV[1])
if pod ~= nil and (pod ~= new_pod or shortens(expire_at, new_expire)) then notify_change(ARGV[6], ARGV[7]) end
return {new_pod, 1, remaining_ms(new_expire, now)}
