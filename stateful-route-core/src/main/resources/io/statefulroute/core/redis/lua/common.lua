-- Shared helpers: each script of this folder gets the ones it calls prepended when it is loaded
-- (LuaScript), as every helper costs a closure on every call.
-- A link is one string key per user and service, holding "<pod>" (a new user's reservation) or
-- "<pod>:<given at ms>" (written by a fenced write), with Redis' own expiry: no TTL =
-- persistent, a TTL = temporary. Newer versions may append ":<field>"; readers ignore what
-- follows the fields they know.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- A fenced write (a pod's, a gateway's relink) carries "<deadline>,<decided>": the time on Redis'
-- clock (ms) from which it must not land (its writer's lease end or its caller's deadline,
-- whichever comes first) and when it was decided (0: not said). '' = not fenced. The deadline is
-- checked before the script writes anything, on the clock of the server that holds the key, so
-- a write delayed in the network, behind a paused process or in a resend after a reconnect is
-- refused where it lands. Returns the error reply to return (or nil to go on), Redis' clock,
-- and when the write was decided.
local function fence_check(fence)
  if fence == '' then return nil, nil, 0 end
  local deadline, decided = string.match(fence, '^(%d+),(%d+)$')
  local now = now_ms()
  if now < tonumber(deadline) then return nil, now, tonumber(decided) end
  return redis.error_reply('FENCED ' .. string.format('%d', now) .. ' ' .. deadline), now, 0
end

-- A fenced write stamps the link with when it was written: "<pod>:<given at ms>", so that a
-- write decided before another pod was given the user can tell, and is refused.
local function stamped(pod, now)
  if now == nil then return pod end
  return pod .. ':' .. string.format('%d', now)
end

-- When the stored link was given to its pod by a fenced write, nil when not stamped.
local function given_at(value)
  if not value then return nil end
  return tonumber(string.match(value, '^%d+:(%d+)'))
end

-- Refusal of a write decided at `decided` (the latest Redis' clock could read then) that would
-- take the user from `pod`, given it later than that: the writer could not know, so it must not
-- undo it. Within the same millisecond nobody can tell the order, and the write goes on.
local function taken_since(value, pod, decided)
  if decided == 0 or pod == nil then return nil end
  local given = given_at(value)
  if given == nil or given <= decided then return nil end
  return redis.error_reply('TAKEN ' .. pod .. ' ' .. string.format('%d', given) .. ' ' .. string.format('%d', decided))
end

-- Tolerant, as EntryFormat.linkPod in Java: the pod of a stored link, nil when there is none,
-- or nil and true when the value is not "<pod>[:...]" with pod 0..65535: such a value reads
-- as no link and the next write replaces it, never a script error.
local function pod_of(value)
  if not value then return nil end
  local pod = string.match(value, '^(%d%d?%d?%d?%d?)$') or string.match(value, '^(%d%d?%d?%d?%d?):')
  if pod == nil or tonumber(pod) > 65535 then return nil, true end
  return tonumber(pod)
end

-- ttl: the link's life in ms as the caller sent it, '-1' for a persistent link. SET without a
-- TTL also ends any TTL the key had.
local function write_link(key, pod, ttl)
  if ttl == '-1' then
    redis.call('SET', key, pod)
  else
    redis.call('SET', key, pod, 'PX', ttl)
  end
end

-- Remaining life in ms of a link just read (-1 persistent).
local function remaining_ms(key)
  return redis.call('PTTL', key)
end

-- Every link script a client runs through its executor gets, as its last argument, '1' when
-- that client tracks the user's links (client tracking). A write ends Redis' tracking of the key
-- for every client, the writer too; so a script whose result its caller may cache reads the
-- key once more after its last write, in the same atomic step: the caller keeps hearing of
-- later changes.
local function keep_tracked(key)
  if ARGV[#ARGV] == '1' then redis.call('GET', key) end
end

-- Tells every gateway, in the same atomic step as the change, that a user's link moved
-- or went away, so no change can slip between the write and the notice. No channel (''):
-- every client follows changes by client tracking, which the write itself triggers.
local function notify_change(channel, message)
  if channel ~= '' then redis.call('PUBLISH', channel, message) end
end

-- Whether a rewrite ends a link sooner than before (persistent to temporary, or a nearer
-- end): gateways that cached the old link must drop it, or their copy would outlive it.
-- old_remaining: ms left of the old link (-1 persistent); ttl: the new one's, as write_link's.
local function shortens(old_remaining, ttl)
  if ttl == '-1' then return false end
  return old_remaining == -1 or tonumber(ttl) < old_remaining
end
