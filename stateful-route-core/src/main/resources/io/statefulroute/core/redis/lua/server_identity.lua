-- redisIdentity: what identifies the data this server holds. The run id is new at every start
-- (a restart without persistence, or with a snapshot older than the last writes, lost them);
-- the replication id is new when a replica is promoted (a failover drops the writes the old
-- primary had not yet replicated); the role tells that a primary was demoted. Between two
-- equal answers, none of those happened.
-- returns {role, run id, replication id}
local server = redis.call('INFO', 'server')
local replication = redis.call('INFO', 'replication')
return {string.match(replication, 'role:(%a+)') or '?', string.match(server, 'run_id:(%w+)') or '?',
  string.match(replication, 'master_replid:(%w+)') or '?'}
