"""Presence as Redis keeps it: Lua scripts that change it atomically on Redis's own clock,
and the parsing of what they return.

Each user has a hash of device → `"<refresh seq> <expires ms> <writer> <json [status, view]>"`;
one sorted set holds every device's deadline (see `redis_hub` for the whole key layout).
"""

from __future__ import annotations

from collections.abc import Sequence

import orjson

from hugmood.realtime.hub import DevicePresence, Presence, PresenceStatus
from hugmood.realtime.memory import aggregate_presence

KEY_GRACE_MS = 10 * 60 * 1000
"""A presence hash outlives its newest deadline by this much, so keys of users whose expiry
nobody processed (every process gone) do not stay in Redis forever."""

# Millisecond time from Redis itself: every process judges expiry by the same clock.
NOW = "local t = redis.call('TIME') local now = t[1] * 1000 + math.floor(t[2] / 1000) "

HEARTBEAT = (
    NOW
    + """
-- KEYS: presence hash, deadlines, refresh counter
-- ARGV: device, ttl ms, writer, json [status, view], deadline member, key grace ms
local ttl = tonumber(ARGV[2])
local expires = now + ttl
local seq = redis.call('INCR', KEYS[3])
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d %d %s %s', seq, expires, ARGV[3], ARGV[4]))
redis.call('ZADD', KEYS[2], expires, ARGV[5])
local keep = ttl + tonumber(ARGV[6])
if redis.call('PTTL', KEYS[1]) < keep then redis.call('PEXPIRE', KEYS[1], keep) end
return {now, redis.call('HGETALL', KEYS[1])}
"""
)

# Extend live devices in place: the record keeps its refresh sequence (so the user's refresh
# order, and with it the aggregate, is unchanged), its writer and its status. Returns the
# 1-based positions of the devices it did not find live.
REFRESH = (
    NOW
    + """
-- KEYS: deadlines.  ARGV: presence key prefix, ttl ms, key grace ms,
--   then per device: user, device, deadline member
local ttl = tonumber(ARGV[2])
local expires = now + ttl
local keep = ttl + tonumber(ARGV[3])
local missing = {}
local n = 0
for i = 4, #ARGV, 3 do
  n = n + 1
  local key = ARGV[1] .. ARGV[i]
  local record = redis.call('HGET', key, ARGV[i + 1])
  local seq, deadline, rest
  if record then seq, deadline, rest = string.match(record, '^(%S+) (%S+) (.*)$') end
  if record and tonumber(deadline) > now then
    redis.call('HSET', key, ARGV[i + 1], string.format('%s %d %s', seq, expires, rest))
    redis.call('ZADD', KEYS[1], expires, ARGV[i + 2])
    if redis.call('PTTL', key) < keep then redis.call('PEXPIRE', key, keep) end
  else
    table.insert(missing, n)
  end
end
return missing
"""
)

DISCONNECT = (
    NOW
    + """
-- KEYS: presence hash, deadlines.  ARGV: device, deadline member
redis.call('HDEL', KEYS[1], ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[2])
return {now, redis.call('HGETALL', KEYS[1])}
"""
)

# After an outage: remove a device that left this process meanwhile, unless another process
# has written it since (the device reconnected elsewhere), which the writer field tells.
FORGET = """
-- KEYS: presence hash, deadlines.  ARGV: device, deadline member, writer
local record = redis.call('HGET', KEYS[1], ARGV[1])
if record and string.match(record, '^%S+ %S+ (%S+) ') == ARGV[3] then
  redis.call('HDEL', KEYS[1], ARGV[1])
  redis.call('ZREM', KEYS[2], ARGV[2])
end
return 0
"""

READ = (
    NOW
    + """
-- KEYS: presence hashes
local out = {now}
for i, key in ipairs(KEYS) do out[i + 1] = redis.call('HGETALL', key) end
return out
"""
)

# Atomic claim: the due devices are removed in the same step that reads them, so two
# processes calling expire() at once cannot both report the same change.
EXPIRE = (
    NOW
    + """
-- KEYS: deadlines.  ARGV: presence key prefix, batch size
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, tonumber(ARGV[2]))
local gone, users = {}, {}
for _, member in ipairs(due) do
  local pair = cjson.decode(member)
  if gone[pair[1]] == nil then gone[pair[1]] = {}; table.insert(users, pair[1]) end
  table.insert(gone[pair[1]], pair[2])
  redis.call('ZREM', KEYS[1], member)
end
local out = {}
for _, user in ipairs(users) do
  local key = ARGV[1] .. user
  table.insert(out, user)
  table.insert(out, redis.call('HGETALL', key))
  table.insert(out, gone[user])
  redis.call('HDEL', key, unpack(gone[user]))
end
return {#due, out}
"""
)


def devices(flat: Sequence[str]) -> list[DevicePresence]:
    """Parse an HGETALL reply of a presence hash; oldest refresh first."""
    records = []
    for device_id, record in zip(flat[::2], flat[1::2], strict=True):
        seq, expires_at_ms, _writer, payload = record.split(" ", 3)
        status, view = orjson.loads(payload)
        device = DevicePresence(device_id, PresenceStatus(status), view, int(expires_at_ms))
        records.append((int(seq), device))
    records.sort(key=lambda pair: pair[0])
    return [device for _, device in records]


def live_presence(user_id: str, flat: Sequence[str], now_ms: int) -> Presence:
    return aggregate_presence(user_id, (d for d in devices(flat) if d.expires_at_ms > now_ms))
