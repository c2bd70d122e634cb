-- setWorkloadState: the service-wide state published by pod 0, stamped with Redis' clock.
-- KEYS[1] service's workload key; ARGV: workload, retention ms
redis.call('SET', KEYS[1], string.format('%d', now_ms()) .. ':' .. ARGV[1], 'PX', tonumber(ARGV[2]))
return 1
