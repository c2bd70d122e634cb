-- getServiceState: every pod entry of a service, with Redis' clock to judge their age.
-- KEYS[1] service's pod-state hash
-- returns {now ms, pod, "<updatedMs>:<state>:<load>", pod, ...}
local result = redis.call('HGETALL', KEYS[1])
table.insert(result, 1, now_ms())
return result
