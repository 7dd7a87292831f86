/**
 * Reads one store from Redis: first its feed position (meta: epoch, seq, last — one command, so
 * they agree), then every live document (stored-document.ts). The documents may be newer than
 * that position (writes go on while we read); the feed from the position on replays those
 * writes, and entries older than a document's version are skipped, so the copy converges to Redis's state.
 */
import type { RedisClient } from '../../../redis/redis-connection.js';
import { decode } from '../../../core/codec.js';
import type { Entry } from '../../documents/store-tables.js';
import { readStoredDocument } from './stored-document.js';
import type { StoreSnapshot } from './held-store.js';
import { NO_VERSION } from './stream-id.js';
import { documentKey, type StoreKeys } from './store-keys.js';

const CHUNK = 1000;

export async function loadSnapshot(client: RedisClient, keys: StoreKeys): Promise<StoreSnapshot> {
  const [epoch, seq, last] = await client.hmget(keys.meta, 'epoch', 'seq', 'last');
  const ids = await client.zrange(keys.ids, 0, -1);
  const entries: StoreSnapshot['entries'] = [];
  for (let start = 0; start < ids.length; start += CHUNK) {
    const chunk = ids.slice(start, start + CHUNK);
    const pipeline = client.pipeline();
    for (const id of chunk) pipeline.getBuffer(documentKey(keys, id));
    const replies = (await pipeline.exec()) ?? [];
    const legacy: string[] = [];
    replies.forEach(([error, value], i) => {
      if (error) {
        // A hash: a document written by a build before string documents (stored-document.ts).
        if (/WRONGTYPE/.test((error as Error).message)) return void legacy.push(chunk[i]);
        throw error;
      }
      // Gone since the id list was read (removed or expired): its removal is in the feed, or it expired.
      if (!value) return;
      const { entry, version } = readStoredDocument(value as Buffer);
      entries.push([chunk[i], entry, version]);
    });
    if (legacy.length === 0) continue;
    const hashes = client.pipeline();
    for (const id of legacy) hashes.hmgetBuffer(documentKey(keys, id), 'v', 'd', 'e');
    const fields = (await hashes.exec()) ?? [];
    for (const [i, id] of legacy.entries()) {
      const [error, value] = fields[i] ?? [];
      if (error) throw error;
      const [version, data, expiry] = value as Array<Buffer | null>;
      if (!version || !data) continue;
      const entry: Entry = { doc: decode(data) };
      if (expiry) entry.expiresAt = Number(expiry.toString());
      entries.push([id, entry, version.toString()]);
    }
  }
  return { epoch: epoch ?? null, seq: Number(seq ?? 0), position: last ?? NO_VERSION, entries };
}
