-- wrk script of GatewayBenchmark: every request names its user in the X-User-Id header.
-- args: path, returning users, percent of requests from new users, run tag (makes new uids unique)
-- A returning user is drawn uniformly from user-1..user-<returning users>; a new user's uid is
-- never used again.
local threads = {}
local count = 0

function setup(thread)
  count = count + 1
  thread:set("tid", count)
  table.insert(threads, thread)
end

local path, returning, newPercent, tag
local created = 0

function init(args)
  path = args[1]
  returning = tonumber(args[2])
  newPercent = tonumber(args[3])
  tag = args[4]
  math.randomseed(os.time() * 1000 + tid)
end

function request()
  local uid
  if math.random() * 100 < newPercent then
    created = created + 1
    uid = "new-" .. tag .. "-" .. tid .. "-" .. created
  else
    uid = "user-" .. math.random(returning)
  end
  return wrk.format("GET", path, { ["X-User-Id"] = uid })
end

function done(summary, latency, requests)
  local non2xx = summary.errors.status
  local socket = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d duration_us=%d p50_us=%d p90_us=%d p99_us=%d max_us=%d non2xx=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max, non2xx, socket))
end
