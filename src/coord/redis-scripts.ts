/**
 * The Lua scripts of the Redis backend. Each runs atomically on the Redis server and reads the
 * time from Redis (`TIME`), so the clocks of the app servers never matter to queue timing or
 * fences. Keys of one lock / one queue share a hash tag (`{…}`), so everything works on a Redis
 * Cluster too.
 */

const NOW = `local function nowMs() local t = redis.call('TIME') return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000) end
`;

/** The node ids' epoch (KEYS[1]): read it, or make it when there is none. */
const EPOCH = `local function currentEpoch(now, random)
  local epoch = redis.call('GET', KEYS[1])
  if not epoch then
    epoch = string.format('%.0f', now) .. ':' .. random
    redis.call('SET', KEYS[1], epoch)
  end
  return epoch
end
local function epochCreated(epoch) return tonumber(string.match(epoch, '^(%d+)')) or 0 end
`;

/** How long a fence counter outlives the last acquisition (its loss only makes fences jump to the clock). */
export const FENCE_KEEP_MS = 7 * 86_400_000;

export interface ScriptDefinition {
  numberOfKeys: number;
  lua: string;
}

export const scripts = {
  // KEYS: lock, fence, waiters. ARGV: token, ttlMs, fenceKeepMs, factor.
  // Fence = max(last + 1, now × factor): strictly increasing while the counter lives, and above
  // any earlier fence after Redis lost it (restart without persistence, eviction, expiry).
  // A failed attempt marks the lock as waited for (refreshed by every retry), so a release
  // publishes a wake-up only when someone waits. Our own token already there means an earlier
  // attempt got the lock but its reply was lost: it is ours, with the last fence issued.
  bwLockAcquire: {
    numberOfKeys: 3,
    lua: NOW + `
local holder = redis.call('GET', KEYS[1])
if holder == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return {1, redis.call('GET', KEYS[2]) or string.format('%.0f', nowMs() * tonumber(ARGV[4]))}
end
if not holder and redis.call('SET', KEYS[1], ARGV[1], 'NX', 'PX', ARGV[2]) then
  local last = tonumber(redis.call('GET', KEYS[2]) or '0')
  local fence = math.max(last + 1, nowMs() * tonumber(ARGV[4]))
  local text = string.format('%.0f', fence)
  redis.call('SET', KEYS[2], text, 'PX', ARGV[3])
  return {1, text}
end
redis.call('SET', KEYS[3], '1', 'PX', ARGV[5])
return {0, redis.call('PTTL', KEYS[1])}`,
  },
  // KEYS: lock. ARGV: token, ttlMs.
  bwLockRenew: {
    numberOfKeys: 1,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0`,
  },
  // KEYS: lock, waiters. ARGV: token, channel, name. Compare-and-delete, then wake the waiters if any.
  bwLockRelease: {
    numberOfKeys: 2,
    lua: `if redis.call('GET', KEYS[1]) == ARGV[1] then
  redis.call('DEL', KEYS[1])
  if redis.call('DEL', KEYS[2]) == 1 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
  return 1
end
return 0`,
  },

  // KEYS: wait, delayed, seq. ARGV: prefix, data, attempts, backoffMs, delayMs, channel, queue name.
  bwQueuePush: {
    numberOfKeys: 3,
    lua: NOW + `
local id = redis.call('INCR', KEYS[3])
local key = ARGV[1] .. 'j:' .. id
redis.call('HSET', key, 'd', ARGV[2], 'a', ARGV[3], 'm', 0, 'b', ARGV[4])
local delay = tonumber(ARGV[5])
if delay > 0 then
  redis.call('ZADD', KEYS[2], nowMs() + delay, id)
else
  redis.call('RPUSH', KEYS[1], id)
end
redis.call('PUBLISH', ARGV[6], ARGV[7])
return id`,
  },
  // KEYS: wait, delayed, active, failed. ARGV: prefix, owner, visibilityMs, max.
  // Due delayed jobs start waiting; jobs whose claim expired (their process died or hung) go back
  // to the head of the line, or to failed when their attempts are used up; then up to max jobs
  // are claimed. Returns { {id, data, attempt, attempts, token}…, nextDueMs }.
  bwQueueClaim: {
    numberOfKeys: 4,
    lua: NOW + `
local now = nowMs()
local prefix = ARGV[1]
local due = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[2], id)
  redis.call('RPUSH', KEYS[1], id)
end
local expired = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', now, 'LIMIT', 0, 1000)
for _, id in ipairs(expired) do
  redis.call('ZREM', KEYS[3], id)
  local key = prefix .. 'j:' .. id
  redis.call('HDEL', key, 't')
  if tonumber(redis.call('HGET', key, 'm') or '0') >= tonumber(redis.call('HGET', key, 'a') or '1') then
    redis.call('HSET', key, 'e', 'visibility timeout: the process running it stopped answering')
    redis.call('ZADD', KEYS[4], now, id)
  else
    redis.call('LPUSH', KEYS[1], id)
  end
end
local jobs = {}
local max = tonumber(ARGV[4])
while #jobs < max do
  local id = redis.call('LPOP', KEYS[1])
  if not id then break end
  local key = prefix .. 'j:' .. id
  if redis.call('EXISTS', key) == 1 then
    local made = redis.call('HINCRBY', key, 'm', 1)
    local token = ARGV[2] .. ':' .. id .. ':' .. made
    redis.call('HSET', key, 't', token)
    redis.call('ZADD', KEYS[3], now + tonumber(ARGV[3]), id)
    jobs[#jobs + 1] = {id, redis.call('HGET', key, 'd'), made, redis.call('HGET', key, 'a'), token}
  end
end
local nextDue = -1
for _, k in ipairs({KEYS[2], KEYS[3]}) do
  local first = redis.call('ZRANGE', k, 0, 0, 'WITHSCORES')
  if first[2] then
    local ms = math.max(0, tonumber(first[2]) - now)
    if nextDue < 0 or ms < nextDue then nextDue = ms end
  end
end
return {jobs, nextDue}`,
  },
  // KEYS: active. ARGV: prefix, visibilityMs, id1, token1, id2, token2, … Returns the ids lost.
  bwQueueExtend: {
    numberOfKeys: 1,
    lua: NOW + `
local now = nowMs()
local lost = {}
for i = 3, #ARGV, 2 do
  local id = ARGV[i]
  if redis.call('HGET', ARGV[1] .. 'j:' .. id, 't') == ARGV[i + 1] then
    redis.call('ZADD', KEYS[1], 'XX', now + tonumber(ARGV[2]), id)
  else
    lost[#lost + 1] = id
  end
end
return lost`,
  },
  // KEYS: wait, delayed, active, failed, done. ARGV: prefix, id.
  // The work is done even when the claim was taken over meanwhile: count it once, drop the job.
  bwQueueComplete: {
    numberOfKeys: 5,
    lua: `
local key = ARGV[1] .. 'j:' .. ARGV[2]
if redis.call('DEL', key) == 0 then return 0 end
redis.call('ZREM', KEYS[3], ARGV[2])
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('ZREM', KEYS[4], ARGV[2])
redis.call('LREM', KEYS[1], 0, ARGV[2])
redis.call('INCR', KEYS[5])
return 1`,
  },
  // KEYS: delayed, active, failed. ARGV: prefix, id, token, error, maxBackoffMs.
  bwQueueFail: {
    numberOfKeys: 3,
    lua: NOW + `
local key = ARGV[1] .. 'j:' .. ARGV[2]
if redis.call('HGET', key, 't') ~= ARGV[3] then return 'stale' end
local now = nowMs()
redis.call('ZREM', KEYS[2], ARGV[2])
redis.call('HDEL', key, 't')
redis.call('HSET', key, 'e', ARGV[4])
local made = tonumber(redis.call('HGET', key, 'm'))
if made >= tonumber(redis.call('HGET', key, 'a')) then
  redis.call('ZADD', KEYS[3], now, ARGV[2])
  return 'failed'
end
local backoff = math.min(tonumber(ARGV[5]), tonumber(redis.call('HGET', key, 'b')) * (2 ^ (made - 1)))
redis.call('ZADD', KEYS[1], now + backoff, ARGV[2])
return 'retrying'`,
  },
  // KEYS: wait, delayed, active, done, failed.
  bwQueueCounts: {
    numberOfKeys: 5,
    lua: `return {redis.call('LLEN', KEYS[1]), redis.call('ZCARD', KEYS[2]), redis.call('ZCARD', KEYS[3]), tonumber(redis.call('GET', KEYS[4]) or '0'), redis.call('ZCARD', KEYS[5])}`,
  },
  // KEYS: failed. ARGV: prefix, limit.
  bwQueueFailed: {
    numberOfKeys: 1,
    lua: `
local out = {}
for _, id in ipairs(redis.call('ZRANGE', KEYS[1], 0, tonumber(ARGV[2]) - 1)) do
  local key = ARGV[1] .. 'j:' .. id
  out[#out + 1] = {id, redis.call('HGET', key, 'd'), redis.call('HGET', key, 'm'), redis.call('HGET', key, 'e') or ''}
end
return out`,
  },
  // KEYS: failed, wait. ARGV: prefix, channel, queue name.
  bwQueueRetryFailed: {
    numberOfKeys: 2,
    lua: `
local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
for _, id in ipairs(ids) do
  redis.call('HSET', ARGV[1] .. 'j:' .. id, 'm', 0)
  redis.call('RPUSH', KEYS[2], id)
end
redis.call('DEL', KEYS[1])
if #ids > 0 then redis.call('PUBLISH', ARGV[2], ARGV[3]) end
return #ids`,
  },

  // The node ids' epoch: "<Redis ms when it was made>:<random>", written by the first lease or
  // renewal that finds none, never expiring. Missing means this Redis never held node ids, or lost
  // them (restart without persistence, FLUSHALL, eviction) — the two look the same from inside
  // Redis. Either way no wait: for one ttl after an epoch is made, leases come with `guardMs`
  // (the epoch's remaining first ttl), and the process starts its ids that far ahead of its clock
  // (node-id-lease.ts), above anything a holder from before a loss can still make.
  // KEYS: epoch. ARGV: prefix, token, ttlMs, start, count, new epoch's random part.
  // Returns {nodeId, highWaterMs, guardMs, epoch}, nodeId -1 when every id is taken.
  bwNodeIdLease: {
    numberOfKeys: 1,
    lua: NOW + EPOCH + `
local now = nowMs()
local epoch = currentEpoch(now, ARGV[6])
local guard = math.max(0, epochCreated(epoch) + tonumber(ARGV[3]) - now)
local count = tonumber(ARGV[5])
for i = 0, count - 1 do
  local n = (tonumber(ARGV[4]) + i) % count
  if redis.call('SET', ARGV[1] .. 'lease:' .. n, ARGV[2], 'NX', 'PX', ARGV[3]) then
    local hwm = tonumber(redis.call('GET', ARGV[1] .. 'hwm:' .. n) or '0')
    return {n, string.format('%.0f', hwm), guard, epoch}
  end
end
return {-1, '0', guard, epoch}`,
  },
  // KEYS: epoch. ARGV: prefix, nodeId, token, ttlMs, highWaterMs, keepMs, the epoch the caller leased in, new epoch's random part.
  // A different (or no) epoch means Redis lost its data since the caller's lease: the caller's key
  // is gone too. If nobody took the id meanwhile, the caller takes it back (newcomers got ids
  // ahead of the clock meanwhile); if someone did, the caller must stop using it.
  // Returns {renewed 1|0, epoch, lost 1|0}.
  bwNodeIdRenew: {
    numberOfKeys: 1,
    lua: NOW + EPOCH + `
local epoch = currentEpoch(nowMs(), ARGV[8])
local lost = 0
if epoch ~= ARGV[7] then lost = 1 end
local key = ARGV[1] .. 'lease:' .. ARGV[2]
local holder = redis.call('GET', key)
if holder == ARGV[3] then
  redis.call('PEXPIRE', key, ARGV[4])
elseif not holder then
  redis.call('SET', key, ARGV[3], 'PX', ARGV[4])
else
  return {0, epoch, lost}
end
redis.call('SET', ARGV[1] .. 'hwm:' .. ARGV[2], ARGV[5], 'PX', ARGV[6])
return {1, epoch, lost}`,
  },
  // KEYS: epoch (routes the script to the node ids' slot on a Redis Cluster). ARGV: prefix, nodeId, token, highWaterMs, keepMs.
  bwNodeIdRelease: {
    numberOfKeys: 1,
    lua: `
local key = ARGV[1] .. 'lease:' .. ARGV[2]
if redis.call('GET', key) == ARGV[3] then
  redis.call('SET', ARGV[1] .. 'hwm:' .. ARGV[2], ARGV[4], 'PX', ARGV[5])
  redis.call('DEL', key)
end
return 1`,
  },
} satisfies Record<string, ScriptDefinition>;

export type ScriptName = keyof typeof scripts;
