-- Shared helpers, prepended to every script of this folder when it is loaded.
-- A link is one field of the user's hash (field = service):
--   "<pod>"              persistent link ("<pod>:-1" too)
--   "<pod>:<expireAtMs>" temporary link, dead once Redis' clock passes expireAtMs
-- Newer versions may append ":<field>" to either; readers ignore what follows the expiry.
-- Expiry is kept per field because Redis before 7.4 cannot expire hash fields;
-- the key itself expires with its longest-lived link.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Tolerant, as EntryFormat.livePod in Java: fields after the expiry are a newer version's and
-- ignored; a value that is not "<pod>[:<expireAtMs|-1>[:...]]" gives pod nil and expiry 0, so it
-- is no live link, the next write replaces it, and settle drops it: never a script error.
local function parse_link(value)
  if not value then return nil end
  local sep = string.find(value, ':', 1, true)
  local pod_text = sep and string.sub(value, 1, sep - 1) or value
  if not string.find(pod_text, '^%d%d?%d?%d?%d?$') or tonumber(pod_text) > 65535 then return nil, 0 end
  if not sep then return tonumber(pod_text), -1 end
  local next_sep = string.find(value, ':', sep + 1, true)
  local expire_text = string.sub(value, sep + 1, next_sep and next_sep - 1 or -1)
  if expire_text == '-1' then return tonumber(pod_text), -1 end
  if not string.find(expire_text, '^%d+$') or #expire_text > 15 then return nil, 0 end
  return tonumber(pod_text), tonumber(expire_text)
end

-- pod and expireAt (-1 = persistent) of a stored link value if it is live, or nil (and true
-- when a value was there but not understood, for the readers that report it)
local function live_value(value, now)
  local pod, expire_at = parse_link(value)
  if pod == nil then return nil, nil, value ~= false and value ~= nil end
  if expire_at ~= -1 and expire_at <= now then return nil end
  return pod, expire_at
end

-- pod and expireAt (-1 = persistent) of the live link, or nil (and true if not understood)
local function live_link(key, service, now)
  return live_value(redis.call('HGET', key, service), now)
end

local function remaining_ms(expire_at, now)
  if expire_at == -1 then return -1 end
  return expire_at - now
end

-- ttl_ms < 0 writes a persistent link
local function write_link(key, service, pod, ttl_ms, now)
  local value
  if ttl_ms < 0 then
    value = string.format('%d', pod)
  else
    value = string.format('%d:%d', pod, now + ttl_ms)
  end
  redis.call('HSET', key, service, value)
  if ttl_ms < 0 then return -1 end
  return now + ttl_ms
end

-- Drops expired links and lets the key expire with its longest-lived link,
-- so a user with only temporary links leaves nothing behind. fields: the hash as read before
-- `written` was set to expire at written_expire (-1 persistent); that link needs no parsing.
local function settle_fields(key, fields, now, written, written_expire)
  local latest = written_expire
  for i = 1, #fields, 2 do
    if fields[i] ~= written then
      local _, expire_at = parse_link(fields[i + 1])
      if expire_at == -1 then
        latest = -1
      elseif expire_at ~= nil and expire_at <= now then
        redis.call('HDEL', key, fields[i])
      elseif expire_at ~= nil and latest ~= -1 and expire_at > latest then
        latest = expire_at
      end
    end
  end
  if latest == -1 then
    redis.call('PERSIST', key)
  elseif latest > 0 then
    redis.call('PEXPIREAT', key, latest)
  end
end

local function settle(key, now)
  settle_fields(key, redis.call('HGETALL', key), now, nil, 0)
end

-- Every link script a client runs through its executor gets, as its last argument, '1' when
-- that client tracks the user's key (client tracking). A write ends Redis' tracking of the key
-- for every client, the writer too; so a script whose result its caller may cache reads the
-- field once more after its last write, in the same atomic step: the caller keeps hearing of
-- later changes.
local function keep_tracked(key, field)
  if ARGV[#ARGV] == '1' then redis.call('HGET', key, field) end
end

-- Tells every gateway, in the same atomic step as the change, that a user's link moved
-- or went away, so no change can slip between the write and the notice. No channel (''):
-- every client follows changes by client tracking, which the write itself triggers.
local function notify_change(channel, message)
  if channel ~= '' then redis.call('PUBLISH', channel, message) end
end

-- Whether a rewrite ends a link sooner than before (persistent to temporary, or a nearer
-- expiry): gateways that cached the old link must drop it, or their copy would outlive it.
local function shortens(old_expire, new_expire)
  if new_expire == -1 then return false end
  return old_expire == -1 or new_expire < old_expire
end
