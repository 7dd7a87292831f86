/**
 * The Lua script every write batch runs: one atomic step per batch over the keys of one slot
 * group of a store (one slot, see store-keys.ts). For each write, in order, it checks the version the writer computed
 * from, writes the document (hash + id index + key expiry) and appends the resulting document to
 * the store's feed, so the feed and the data never disagree. Documents are opaque bytes here
 * (boxwire's msgpack): Lua never decodes them (cjson would turn [] into {} and round big integers).
 *
 * The first write whose outcome the writer could not predict (a version conflict, the entry
 * limit) stops the batch: the writes after it are skipped and retried, so a process's writes to a
 * store apply in the order it made them.
 *
 * KEYS: meta, feed, ids (of the group), then one document key per write (meta again for a clear).
 * ARGV: feed length, entry limit for this group (the store's limit minus what the other groups
 *   hold), document key prefix, then per write: kind, id, expect, data, ttl ms.
 *   kind: s save, n create, u update, v verify (an update that failed against the writer's copy:
 *         confirm the copy was current), r remove, c clear
 *   expect (u, v): the version computed from, '0' for "absent", '^' for "as the batch left it",
 *         '?' for "unknown: send me the current document"
 * Reply per write: {'ok', version, expiry|''[, removed]} | {'nx'} | {'exists', v, d, e}
 *   | {'conflict', v|'0', d|'', e|'', newest feed id} | {'limit', count} | {'same'} | {'skip'},
 * then one more element: {'count', entries the group holds now}.
 */
export const WRITE_SCRIPT = `#!lua
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local meta, feed, ids = KEYS[1], KEYS[2], KEYS[3]
local maxlen, limit, prefix = ARGV[1], tonumber(ARGV[2]), ARGV[3]
redis.call('ZREMRANGEBYSCORE', ids, '-inf', now)
local head = redis.call('HMGET', meta, 'epoch', 'seq', 'last')
if not head[1] then
  redis.call('HSET', meta, 'epoch', t[1] .. '.' .. t[2])
end
local seq = tonumber(head[2] or '0')
local count = redis.call('ZCARD', ids)
local last = false
local newest = head[3] or '0-0'
local function append(kind, id, data, e)
  seq = seq + 1
  local sid
  if kind == 'c' then
    sid = redis.call('XADD', feed, 'MAXLEN', '~', maxlen, '*', 'k', kind, 'n', seq)
  elseif not data then
    sid = redis.call('XADD', feed, 'MAXLEN', '~', maxlen, '*', 'k', kind, 'n', seq, 'i', id)
  elseif e then
    sid = redis.call('XADD', feed, 'MAXLEN', '~', maxlen, '*', 'k', kind, 'n', seq, 'i', id, 'd', data, 'e', e)
  else
    sid = redis.call('XADD', feed, 'MAXLEN', '~', maxlen, '*', 'k', kind, 'n', seq, 'i', id, 'd', data)
  end
  last = sid
  newest = sid
  return sid
end
-- Writes the document; touches the expiry and the id index only when they change.
local function put(key, id, sid, data, e, cur)
  if e then
    redis.call('HSET', key, 'v', sid, 'd', data, 'e', e)
    redis.call('PEXPIREAT', key, e)
    if cur[3] ~= e then redis.call('ZADD', ids, e, id) end
  else
    if cur[3] then
      redis.call('HDEL', key, 'e')
      redis.call('PERSIST', key)
    end
    redis.call('HSET', key, 'v', sid, 'd', data)
    if cur[3] or not cur[1] then redis.call('ZADD', ids, '+inf', id) end
  end
end
local out = {}
local stopped = false
local n = (#ARGV - 3) / 5
for i = 1, n do
  local a = 3 + (i - 1) * 5
  local kind, id, expect, data, ttl = ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4], tonumber(ARGV[a + 5])
  local key = KEYS[3 + i]
  if stopped then
    out[i] = {'skip'}
  elseif kind == 'c' then
    local all = redis.call('ZRANGE', ids, 0, -1)
    for _, member in ipairs(all) do redis.call('DEL', prefix .. member) end
    redis.call('DEL', ids)
    count = 0
    out[i] = {'ok', append('c')}
  else
    local cur = redis.call('HMGET', key, 'v', 'd', 'e')
    local exists = cur[1] ~= false
    local version = cur[1] or '0'
    if kind == 's' or kind == 'n' then
      if kind == 'n' and exists then
        out[i] = {'exists', cur[1], cur[2], cur[3] or ''}
      elseif not exists and count >= limit then
        out[i] = {'limit', count}
        stopped = true
      else
        local e = false
        if ttl > 0 then e = string.format('%.0f', now + ttl) end
        local sid = append(kind, id, data, e)
        put(key, id, sid, data, e, cur)
        if not exists then count = count + 1 end
        out[i] = {'ok', sid, e or ''}
      end
    elseif kind == 'u' or kind == 'v' then
      if expect == '?' or (expect ~= '^' and expect ~= version) then
        out[i] = {'conflict', version, cur[2] or '', cur[3] or '', newest}
        stopped = true
      elseif not exists then
        out[i] = {'nx'}
      elseif kind == 'v' then
        out[i] = {'same'}
      else
        local e = cur[3]
        if ttl > 0 then e = string.format('%.0f', now + ttl) end
        local sid = append('u', id, data, e)
        put(key, id, sid, data, e, cur)
        out[i] = {'ok', sid, e or ''}
      end
    elseif kind == 'r' then
      if not exists then
        out[i] = {'nx'}
      else
        local sid = append('r', id)
        redis.call('DEL', key)
        redis.call('ZREM', ids, id)
        count = count - 1
        out[i] = {'ok', sid, '', cur[2]}
      end
    end
  end
end
if last then
  redis.call('HSET', meta, 'seq', seq, 'last', last)
  -- The id index lives as long as its longest-lived entry (no leak once everything expired).
  local top = redis.call('ZRANGE', ids, -1, -1, 'WITHSCORES')
  if top[2] == nil or top[2] == 'inf' then
    redis.call('PERSIST', ids)
  else
    redis.call('PEXPIREAT', ids, top[2])
  end
end
out[n + 1] = {'count', count}
return out
`;

/** The name the script is defined under on each connection (ioredis runs EVALSHA, and EVAL after a NOSCRIPT). */
export const WRITE_COMMAND = 'boxwireStoreWrite';

export type WriteCode = 's' | 'n' | 'u' | 'v' | 'r' | 'c';
