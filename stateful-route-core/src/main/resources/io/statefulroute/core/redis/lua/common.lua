-- Shared helpers, prepended to every script of this folder when it is loaded.
-- A link is one field of the user's hash (field = service):
--   "<pod>"              persistent link
--   "<pod>:<expireAtMs>" temporary link, dead once Redis' clock passes expireAtMs
-- Expiry is kept per field because Redis before 7.4 cannot expire hash fields;
-- the key itself expires with its longest-lived link.

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function parse_link(value)
  if not value then return nil end
  local sep = string.find(value, ':', 1, true)
  if not sep then return tonumber(value), -1 end
  return tonumber(string.sub(value, 1, sep - 1)), tonumber(string.sub(value, sep + 1))
end

-- pod and expireAt (-1 = persistent) of a stored link value if it is live, or nil
local function live_value(value, now)
  local pod, expire_at = parse_link(value)
  if pod == nil or (expire_at ~= -1 and expire_at <= now) then return nil end
  return pod, expire_at
end

-- pod and expireAt (-1 = persistent) of the live link, or nil
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

-- Tells every gateway, in the same atomic step as the change, that a user's link moved
-- or went away, so no change can slip between the write and the notice.
local function notify_change(channel, message)
  redis.call('PUBLISH', channel, message)
end

-- Whether a rewrite ends a link sooner than before (persistent to temporary, or a nearer
-- expiry): gateways that cached the old link must drop it, or their copy would outlive it.
local function shortens(old_expire, new_expire)
  if new_expire == -1 then return false end
  return old_expire == -1 or new_expire < old_expire
end
