-- Records that a service has links or pods in a namespace, so getLinkService knows which
-- link keys of a user to read. Services not recorded for longer than the retention drop out.
-- KEYS[1] the namespace's service registry (sorted set: service -> last record, Redis' clock)
-- ARGV: service, retention ms
local now = now_ms()
redis.call('ZADD', KEYS[1], now, ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - tonumber(ARGV[2]))
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return now
