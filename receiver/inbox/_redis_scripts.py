"""The Lua scripts of `RedisInbox`: each step that touches several keys, done atomically.

Keys (``P`` is the inbox's ``{prefix}``, one Redis Cluster slot):
``P:stream`` (consumer group ``workers``; an entry carries a refid),
``P:m:<refid>`` (hash: state, body, received_at, attempts, last_error,
finished_at, next_attempt_at, lease: the token of the run that holds it),
``P:ok:<refid>`` (set: handlers that succeeded), ``P:pending`` (zset refid ->
received_at: the queue, for its depth and oldest age), ``P:delayed`` (zset
refid -> retry time), ``P:dead`` (zset refid -> when it died), ``P:counters``
(hash).

Each take gets a token of its own (`lease_token` and the entry id), written in
the hash by BEGIN: RENEW, ACK, FAIL and RELEASE change nothing unless the
caller's token is still there, so a worker whose lease lapsed and was taken
again (by another replica, or a sibling worker with the same consumer name)
cannot settle, renew or hand back what the new holder runs.
"""

from __future__ import annotations

# KEYS: msg, stream, pending, counters. ARGV: refid, body, now. 1 new, 0 duplicate.
PUT = """
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HINCRBY', KEYS[4], 'duplicates', 1)
  return 0
end
redis.call('HSET', KEYS[1], 'state', 'pending', 'body', ARGV[2], 'received_at', ARGV[3],
           'attempts', 0)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[1])
redis.call('XADD', KEYS[2], '*', 'refid', ARGV[1])
redis.call('HINCRBY', KEYS[4], 'received', 1)
return 1
"""

# KEYS: delayed, stream. ARGV: now, limit. Retries that came due go back on the stream.
PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, ARGV[2])
for _, refid in ipairs(due) do
  redis.call('ZREM', KEYS[1], refid)
  redis.call('XADD', KEYS[2], '*', 'refid', refid)
end
return #due
"""

# KEYS: msg, ok, stream. ARGV: group, entry id, consumer, token.
# A run begins: count the attempt and take the lease; {attempts, body, done handlers},
# or nil if the entry is no longer ours (settled by the previous holder since it was
# read) or the message is no longer pending (its stale entry is dropped).
BEGIN = """
local p = redis.call('XPENDING', KEYS[3], ARGV[1], ARGV[2], ARGV[2], 1)
if #p == 0 or p[1][2] ~= ARGV[3] then return false end
if redis.call('HGET', KEYS[1], 'state') ~= 'pending' then
  redis.call('XACK', KEYS[3], ARGV[1], ARGV[2])
  redis.call('XDEL', KEYS[3], ARGV[2])
  return false
end
local attempts = redis.call('HINCRBY', KEYS[1], 'attempts', 1)
redis.call('HSET', KEYS[1], 'lease', ARGV[4])
redis.call('HDEL', KEYS[1], 'next_attempt_at')
return {attempts, redis.call('HGET', KEYS[1], 'body'), redis.call('SMEMBERS', KEYS[2])}
"""

# KEYS: msg, ok. ARGV: handler. A handler succeeded: kept with no expiry until the
# message is handled (ACK) or purged, however long it waits for retries or as a dead
# letter (like the message itself). Not kept for a message handled already or gone.
RECORD = """
local state = redis.call('HGET', KEYS[1], 'state')
if state ~= 'pending' and state ~= 'dead' then return 0 end
redis.call('SADD', KEYS[2], ARGV[1])
return 1
"""

# KEYS: stream, msg. ARGV: group, consumer, entry id, token. Resets the entry's idle
# time if this run still holds it: 1; 0 if the lease was lost.
RENEW = """
if redis.call('HGET', KEYS[2], 'lease') ~= ARGV[4] then return 0 end
local p = redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[3], ARGV[3], 1)
if #p == 0 or p[1][2] ~= ARGV[2] then return 0 end
redis.call('XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0, ARGV[3], 'JUSTID')
return 1
"""

# KEYS: stream, msg, ok, pending, counters.
# ARGV: group, entry id, now, retention ms, refid, token. 1 handled; 0 lease lost.
ACK = """
if redis.call('HGET', KEYS[2], 'lease') ~= ARGV[6] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('HGET', KEYS[2], 'state') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[2], 'state', 'handled', 'finished_at', ARGV[3])
redis.call('HDEL', KEYS[2], 'body', 'next_attempt_at', 'lease')
redis.call('PEXPIRE', KEYS[2], ARGV[4])
redis.call('DEL', KEYS[3])
redis.call('ZREM', KEYS[4], ARGV[5])
redis.call('HINCRBY', KEYS[5], 'handled', 1)
return 1
"""

# KEYS: stream, msg, pending, delayed, dead, counters.
# ARGV: group, entry id, now, refid, error, '1' to dead-letter, retry time, token.
# 1 done; 0 lease lost.
FAIL = """
if redis.call('HGET', KEYS[2], 'lease') ~= ARGV[8] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('HGET', KEYS[2], 'state') ~= 'pending' then return 0 end
redis.call('HSET', KEYS[2], 'last_error', ARGV[5])
redis.call('HDEL', KEYS[2], 'lease')
if ARGV[6] == '1' then
  redis.call('HSET', KEYS[2], 'state', 'dead', 'finished_at', ARGV[3])
  redis.call('ZREM', KEYS[3], ARGV[4])
  redis.call('ZADD', KEYS[5], ARGV[3], ARGV[4])
  redis.call('HINCRBY', KEYS[6], 'dead_lettered', 1)
else
  redis.call('HSET', KEYS[2], 'next_attempt_at', ARGV[7])
  redis.call('ZADD', KEYS[4], ARGV[7], ARGV[4])
  redis.call('HINCRBY', KEYS[6], 'retried', 1)
end
return 1
"""

# KEYS: stream, msg, delayed. ARGV: group, entry id, now, refid, token.
# Shutting down: hand the message back, ready now, this run not counted.
RELEASE = """
if redis.call('HGET', KEYS[2], 'lease') ~= ARGV[5] then return 0 end
redis.call('XACK', KEYS[1], ARGV[1], ARGV[2])
redis.call('XDEL', KEYS[1], ARGV[2])
if redis.call('HGET', KEYS[2], 'state') ~= 'pending' then return 0 end
redis.call('HDEL', KEYS[2], 'lease')
redis.call('HINCRBY', KEYS[2], 'attempts', -1)
redis.call('ZADD', KEYS[3], ARGV[3], ARGV[4])
return 1
"""

# KEYS: msg, dead, pending, stream. ARGV: refid.
REPLAY = """
if redis.call('HGET', KEYS[1], 'state') ~= 'dead' then return 0 end
redis.call('HSET', KEYS[1], 'state', 'pending', 'attempts', 0)
redis.call('HDEL', KEYS[1], 'finished_at')
redis.call('ZREM', KEYS[2], ARGV[1])
redis.call('ZADD', KEYS[3], redis.call('HGET', KEYS[1], 'received_at'), ARGV[1])
redis.call('XADD', KEYS[4], '*', 'refid', ARGV[1])
return 1
"""

# KEYS: msg, ok, dead. ARGV: refid.
PURGE = """
if redis.call('HGET', KEYS[1], 'state') ~= 'dead' then return 0 end
redis.call('DEL', KEYS[1], KEYS[2])
redis.call('ZREM', KEYS[3], ARGV[1])
return 1
"""

# KEYS: stream. ARGV: group, lease ms. How many taken entries are still leased: the
# pending ones minus those idle past the lease (their worker is gone; the next take
# gets them), as SqliteInbox counts, without sending the lapsed ones back.
IN_FLIGHT = """
local total = redis.call('XPENDING', KEYS[1], ARGV[1])[1]
if total == 0 then return 0 end
local lapsed = redis.call('XPENDING', KEYS[1], ARGV[1], 'IDLE', ARGV[2], '-', '+', total)
return total - #lapsed
"""
