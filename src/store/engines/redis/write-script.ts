/**
 * The Lua script every write batch runs: one atomic step per batch over the keys of one slot
 * group of a store (one slot, see store-keys.ts). For each write, in order, it checks the version
 * the writer computed from and works out the document the write leaves; then the whole batch
 * goes to the store's feed as ONE entry (feed-changes.ts), and each document it touched is
 * written once (hash + id index + key expiry), so the feed and the data never disagree.
 * Documents are opaque bytes here (boxwire's msgpack): Lua never decodes them (cjson would turn
 * [] into {} and round big integers).
 *
 * Versions: every document a batch writes gets the batch's feed entry id as its version. Versions
 * still compare in feed order, and a document has one version per batch that left it changed.
 * (One entry per batch rather than per write: an XADD and an HSET per write were most of the
 * script's time; a batch of 100 $inc on one counter is now one XADD and one HSET.)
 *
 * The first write whose outcome the writer could not predict (a version conflict, the entry
 * limit) stops the batch: the writes after it are skipped and retried, so a process's writes to a
 * store apply in the order it made them.
 *
 * KEYS: meta, feed, ids (of the group). A write's document key is the group's prefix + its id, in
 *   the group's slot (the hash tag): not passed as a key, as 100 more keys per batch cost more
 *   than the script. Redis (standalone and Cluster) allows a script keys of its declared slot.
 * ARGV: feed length, entry limit for this group (the store's limit minus what the other groups
 *   hold), document key prefix, then the writes packed in one argument (write-batch.ts): per
 *   write kind, id, expect, data, ttl ms.
 *   kind: s save, n create, u update, v verify (an update that failed against the writer's copy:
 *         confirm the copy was current), r remove, c clear
 *   expect (u, v): the version computed from, '0' for "absent", '^' for "as the batch left it",
 *         '?' for "unknown: send me the current document"
 * Reply per write: 1 (ok, no expiry) | {'ok', '', expiry|''[, removed]} | {'nx'}
 *   | {'exists', v, d, e} | {'conflict', v|'0', d|'', e|'', newest feed id} | {'limit', count}
 *   | {'same'} | {'skip'}, then one more element: {'count', entries the group holds now, the
 *   batch's feed entry id or ''}. A version '' in a reply (and every ok) means that entry id.
 */
import { WRITE_FORMAT } from './write-batch.js';
import { CHANGE_FORMAT } from './feed-changes.js';
import { DOC_HEADER_FORMAT } from './stored-document.js';

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
local newest = head[3] or '0-0'
-- The version of a document this batch wrote: its feed entry id, known once the entry is added.
local PENDING = ''
-- What Redis held before this batch is not known for an id only saved so far (no read needed).
local UNKNOWN = {}
-- id -> {version, data, expiry} as this batch leaves it so far (read from Redis at first touch).
local state = {}
-- id -> what Redis held before this batch (or UNKNOWN), for the ids it wrote; order: first-write order.
local before, order = {}, {}
-- Saves of ids whose earlier existence is unknown: each may add an entry.
local unknown = 0
local changes = {}

local function decodeDoc(raw)
  if not raw then return {false, false, false} end
  local v, e, at = struct.unpack('${DOC_HEADER_FORMAT}', raw)
  if e == '' then e = false end
  return {v, string.sub(raw, at), e}
end
-- A document written by a build before string documents is a hash (v, d, e): read as it is.
local function readLegacy(key)
  local h = redis.call('HMGET', key, 'v', 'd', 'e')
  if not h[1] then return {false, false, false} end
  return h
end
local function read(id)
  local key = prefix .. id
  local raw = redis.pcall('GET', key)
  if type(raw) == 'table' and raw.err then return readLegacy(key) end
  return decodeDoc(raw)
end
-- The document as the batch leaves it so far; what Redis held before it is resolved here too.
local function current(id)
  local cur = state[id]
  if not cur then
    cur = read(id)
    state[id] = cur
  elseif before[id] == UNKNOWN then
    local old = read(id)
    before[id] = old
    unknown = unknown - 1
    if not old[1] then count = count + 1 end
  end
  return cur
end
local function change(kind, id, data, e)
  changes[#changes + 1] = struct.pack('${CHANGE_FORMAT}', kind, #id, id, #data, data, #e, e)
end
local function written(id, old, data, e)
  if not before[id] then
    before[id] = old
    order[#order + 1] = id
  end
  if data then state[id] = {PENDING, data, e} else state[id] = {false, false, false} end
end
-- Writes a document as the batch left it (once, whatever number of writes it had in the batch);
-- touches the id index only when the expiry changes. A SET drops any earlier TTL.
local function store(id, old, cur, version)
  local key = prefix .. id
  if not cur[1] then
    if old == UNKNOWN or old[1] then
      redis.call('DEL', key)
      redis.call('ZREM', ids, id)
    end
    return
  end
  local e = cur[3]
  local value = struct.pack('${DOC_HEADER_FORMAT}', #version, version, #(e or ''), e or '') .. cur[2]
  if old == UNKNOWN then
    local raw
    if e then raw = redis.pcall('SET', key, value, 'PXAT', e, 'GET')
    else raw = redis.pcall('SET', key, value, 'GET') end
    if type(raw) == 'table' and raw.err then
      -- Not a string (a legacy hash document): SET ... GET refused and changed nothing.
      old = readLegacy(key)
      redis.call('DEL', key)
      if e then redis.call('SET', key, value, 'PXAT', e) else redis.call('SET', key, value) end
    else
      old = decodeDoc(raw)
    end
    if not old[1] then count = count + 1 end
  elseif e then
    redis.call('SET', key, value, 'PXAT', e)
  else
    redis.call('SET', key, value)
  end
  if not old[1] or old[3] ~= e then redis.call('ZADD', ids, e or '+inf', id) end
end

local out = {}
local stopped = false
local batch, pos, n = ARGV[4], 1, 0
while pos <= #batch do
  n = n + 1
  local i = n
  local kind, id, expect, data, ttl
  kind, id, expect, data, ttl, pos = struct.unpack('${WRITE_FORMAT}', batch, pos)
  if stopped then
    out[i] = {'skip'}
  elseif kind == 'c' then
    local all = redis.call('ZRANGE', ids, 0, -1)
    for _, member in ipairs(all) do redis.call('DEL', prefix .. member) end
    -- Saves of this batch with no entry in the index yet are not in Redis either: nothing to delete.
    redis.call('DEL', ids)
    count = 0
    unknown = 0
    state, before, order = {}, {}, {}
    change('c', '', '', '')
    out[i] = 1
  elseif kind == 's' and not state[id] and count + unknown < limit then
    -- A save of an id the batch has not touched, with room for it whether or not it exists:
    -- no read; the SET at the end tells whether it was new.
    local e = false
    if ttl > 0 then e = string.format('%.0f', now + ttl) end
    change('s', id, data, e or '')
    written(id, UNKNOWN, data, e)
    unknown = unknown + 1
    if e then out[i] = {'ok', '', e} else out[i] = 1 end
  else
    local cur = current(id)
    local exists = cur[1] ~= false
    local version = cur[1] or '0'
    if kind == 's' or kind == 'n' then
      if kind == 'n' and exists then
        out[i] = {'exists', cur[1], cur[2], cur[3] or ''}
      elseif not exists and count + unknown >= limit then
        out[i] = {'limit', count + unknown}
        stopped = true
      else
        local e = false
        if ttl > 0 then e = string.format('%.0f', now + ttl) end
        change(kind, id, data, e or '')
        written(id, cur, data, e)
        if not exists then count = count + 1 end
        if e then out[i] = {'ok', '', e} else out[i] = 1 end
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
        change('u', id, data, e or '')
        written(id, cur, data, e)
        if e then out[i] = {'ok', '', e} else out[i] = 1 end
      end
    elseif kind == 'r' then
      if not exists then
        out[i] = {'nx'}
      else
        change('r', id, '', '')
        written(id, cur, false, false)
        count = count - 1
        out[i] = {'ok', '', '', cur[2]}
      end
    end
  end
end
local entry = ''
if #changes > 0 then
  seq = seq + 1
  entry = redis.call('XADD', feed, 'MAXLEN', '~', maxlen, '*', 'n', seq, 'b', table.concat(changes))
  for _, id in ipairs(order) do store(id, before[id], state[id], entry) end
  redis.call('HSET', meta, 'seq', seq, 'last', entry)
  -- The id index lives as long as its longest-lived entry (no leak once everything expired).
  local top = redis.call('ZRANGE', ids, -1, -1, 'WITHSCORES')
  if top[2] == nil or top[2] == 'inf' then
    redis.call('PERSIST', ids)
  else
    redis.call('PEXPIREAT', ids, top[2])
  end
end
out[n + 1] = {'count', count, entry}
return out
`;

/** The name the script is defined under on each connection (ioredis runs EVALSHA, and EVAL after a NOSCRIPT). */
export const WRITE_COMMAND = 'boxwireStoreWrite';

export type WriteCode = 's' | 'n' | 'u' | 'v' | 'r' | 'c';
