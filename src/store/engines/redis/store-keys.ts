/**
 * Where one store lives in Redis. A store is split into `groups` slot groups: a document belongs
 * to group `hash(id) mod groups`, and every key of a group carries the group's hash tag, so a
 * group's documents, id index and change feed share one slot and each write is one atomic Lua
 * script over them. In a Redis Cluster the groups' tags are chosen so that group g hashes into
 * the g-th equal range of the 16,384 slots: a store's documents spread over every master (a
 * cluster made by `redis-cli --cluster create` gives each master a contiguous range).
 *
 * With one group (a single Redis server, by default) the layout is the original one:
 *   bw:store:{name}:meta     hash  epoch (this data set's birth), seq (feed entries so far), last (newest feed id)
 *   bw:store:{name}:feed     stream, one entry per write: k kind, i id, n seq, d document, e expiry
 *   bw:store:{name}:ids      sorted set of live ids, scored by absolute expiry (ms, +inf for none)
 *   bw:store:{name}:d:<id>   hash  v version (the feed id of its last write), d document, e expiry; PEXPIREAT e
 * With G > 1 groups, group g uses the tag {name#<g>[.<n>]} for the same four kinds of keys, and
 * `bw:store:{name}:meta` holds only `groups` = G, so a process configured with another number
 * refuses the store instead of reading half of it.
 */
import keySlot from 'cluster-key-slot';

export interface StoreKeys {
  /** This group's number (0 … groups − 1). */
  group: number;
  meta: string;
  feed: string;
  ids: string;
  /** The prefix of document keys (the id follows it). */
  docPrefix: string;
}

export interface StoreLayout {
  store: string;
  /** The slot groups, by number. */
  groups: StoreKeys[];
  /** The key recording how many groups the store has (the single group's meta when there is one). */
  layoutKey: string;
  /** The group a document belongs to. */
  groupOf(id: string): number;
}

const ROOT = 'bw:store:';
const SLOTS = 16384;

function keysFor(tag: string, group: number): StoreKeys {
  const prefix = `${ROOT}{${tag}}:`;
  return { group, meta: `${prefix}meta`, feed: `${prefix}feed`, ids: `${prefix}ids`, docPrefix: `${prefix}d:` };
}

/** Store names are letters, digits, _ $ - and dots (checked by SHARED_STORE): never a brace or '#'. */
export function storeLayout(store: string, groups = 1): StoreLayout {
  if (groups === 1) {
    const only = keysFor(store, 0);
    return { store, groups: [only], layoutKey: only.meta, groupOf: () => 0 };
  }
  const keys: StoreKeys[] = [];
  for (let g = 0; g < groups; g++) keys.push(keysFor(groupTag(store, g, groups), g));
  return { store, groups: keys, layoutKey: `${ROOT}{${store}}:meta`, groupOf: (id) => hashId(id) % groups };
}

/** The first tag `name#g`, `name#g.1`, `name#g.2` … whose slot falls in the g-th of `groups` equal slot ranges. */
function groupTag(store: string, group: number, groups: number): string {
  const low = Math.floor((group * SLOTS) / groups);
  const high = Math.floor(((group + 1) * SLOTS) / groups);
  // A range holds SLOTS/groups slots: about `groups` tries find one (bounded: groups ≤ 1024).
  for (let n = 0; n < 1_000_000; n++) {
    const tag = n === 0 ? `${store}#${group}` : `${store}#${group}.${n}`;
    const slot = keySlot(tag);
    if (slot >= low && slot < high) return tag;
  }
  return `${store}#${group}`;
}

/** FNV-1a over the id's UTF-16 code units: the same group in every process, spread evenly. */
function hashId(id: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < id.length; i++) {
    hash ^= id.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

export function documentKey(keys: StoreKeys, id: string): string {
  return keys.docPrefix + id;
}
