import type { Operation } from '../replication/operation.js';
import type { Entry } from '../documents/store-tables.js';

/**
 * What a replica tells the read replicas that mirror it (its workers, and its own local view):
 * in-order operations are sent as operations (cheap, and applied with the same deterministic
 * function); the results of a replay are sent as entries or whole tables.
 */
export type FeedItem =
  | { t: 'op'; op: Operation }
  | { t: 'entry'; store: string; id: string; entry?: Entry }
  | { t: 'table'; store: string; entries: Array<[string, Entry]> }
  | { t: 'prune'; wall: number };
