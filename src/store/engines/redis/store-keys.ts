/**
 * Where one store lives in Redis. Every key of a store carries the store's name as its hash tag
 * (`{name}`), so in a Redis Cluster a store's documents, its id index and its change feed share
 * one slot: each write is one atomic Lua script over them. Different stores hash to different
 * slots, so a cluster spreads the stores (and their documents) across its masters.
 *
 *   bw:store:{name}:meta     hash  epoch (this data set's birth), seq (feed entries so far), last (newest feed id)
 *   bw:store:{name}:feed     stream, one entry per write: k kind, i id, n seq, d document, e expiry
 *   bw:store:{name}:ids      sorted set of live ids, scored by absolute expiry (ms, +inf for none)
 *   bw:store:{name}:d:<id>   hash  v version (the feed id of its last write), d document, e expiry; PEXPIREAT e
 */
export interface StoreKeys {
  meta: string;
  feed: string;
  ids: string;
  /** The prefix of document keys (the id follows it). */
  docPrefix: string;
}

const ROOT = 'bw:store:';

export function storeKeys(store: string): StoreKeys {
  // Store names are letters, digits, _ $ - and dots (checked by SHARED_STORE): never a brace.
  const tag = `${ROOT}{${store}}:`;
  return { meta: `${tag}meta`, feed: `${tag}feed`, ids: `${tag}ids`, docPrefix: `${tag}d:` };
}

export function documentKey(keys: StoreKeys, id: string): string {
  return keys.docPrefix + id;
}
