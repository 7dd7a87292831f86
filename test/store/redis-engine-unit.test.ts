// The Redis engine in one process against a real redis-server: how it is chosen (and what is
// refused), limits checked in Redis, the TTL rules as Redis sees them, create, and documents kept
// as boxwire's bytes (never through cjson).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, SHARED_STORE, StoreLimitError, StoreOperationError } from '../../src/index.js';
import { readStoredDocument } from '../../src/store/engines/redis/stored-document.js';
import { decode } from '../../src/core/codec.js';
import { chosenStoreEngine } from '../../src/store/engines/engine-choice.js';
import { storeEngine } from '../../src/store/store-node.js';
import { RedisServer } from '../helpers/redis-server.js';

let redis: RedisServer;

async function rejects(run: () => Promise<unknown>, check: (e: Error) => boolean): Promise<void> {
  const error = await run().then(() => undefined, (e: Error) => e);
  assert.ok(error, 'expected a rejection');
  assert.ok(check(error!), `${error!.name}: ${error!.message}`);
}

test.before(async () => {
  redis = await new RedisServer().start();
});

test.after(async () => {
  SHARED_STORE.close(); // or this process would keep running on its Redis connections
  await redis.dispose();
});

test('choosing the engine: environment, code, and what is refused', () => {
  assert.equal(chosenStoreEngine({}), { engine: 'memory', feedLength: 10_000 });
  assert.equal(chosenStoreEngine({ BOXWIRE_STORE_ENGINE: 'redis', BOXWIRE_REDIS_URL: 'redis://127.0.0.1:6390/2', BOXWIRE_STORE_FEED_LENGTH: '500' }), { engine: 'redis', feedLength: 500, redis: { url: 'redis://127.0.0.1:6390/2' } });
  assert.throws(() => chosenStoreEngine({ BOXWIRE_STORE_ENGINE: 'mysql' }), (e: Error) => e instanceof ConfigError && /'memory' or 'redis', got "mysql"/.test(e.message));
  assert.throws(() => chosenStoreEngine({ BOXWIRE_STORE_ENGINE: 'redis' }), (e: Error) => e instanceof ConfigError && /needs Redis: set BOXWIRE_REDIS_URL/.test(e.message));
  assert.throws(() => SHARED_STORE.configure({ feedLength: 5 }), /feedLength.*≥ 100/);
  assert.throws(() => SHARED_STORE.configure({ redis: 'http://nope' }), /redis:\/\/ or rediss:\/\//);
  SHARED_STORE.configure({ engine: 'redis', redis: redis.url });
  assert.is(storeEngine().kind, 'redis');
  assert.throws(() => SHARED_STORE.configure({ engine: 'memory' }), (e: Error) => e instanceof ConfigError && /already uses the 'redis' engine/.test(e.message));
});

test('limits: entries per store are counted in Redis; an update that grows past the document size fails and changes nothing', async () => {
  const store = SHARED_STORE('u.entries', { maxEntries: 3 });
  for (const id of ['a', 'b', 'c']) await store.save({ id, data: { id } });
  await rejects(() => store.save({ id: 'd', data: {} }), (e) => e instanceof StoreLimitError && /holds 3 entries, its limit \(3\)/.test(e.message));
  await store.save({ id: 'a', data: { again: true } });
  await store.remove('b');
  await store.create({ id: 'd', data: {} });
  assert.is(await store.count(), 3);
  assert.is((await redis.cli('ZCARD', 'bw:store:{u.entries}:ids')).stdout.trim(), '3');

  SHARED_STORE.configure({ maxDocumentBytes: 1000 });
  try {
    const sized = SHARED_STORE('u.size');
    await sized.save({ id: 'grow', data: { list: [] } });
    for (let i = 0; i < 5; i++) await sized.update({ id: 'grow', data: { $push: { list: 'y'.repeat(100) } } });
    await rejects(() => sized.update({ id: 'grow', data: { $push: { list: 'z'.repeat(600) } } }), (e) => e instanceof StoreLimitError && /over the 1000-byte limit/.test(e.message));
    assert.is(((await sized.get('grow'))!.list as string[]).length, 5);
    await rejects(() => sized.update({ id: 'grow', data: { $inc: { list: 1 } } }), (e) => e instanceof StoreOperationError);
    assert.is(((await sized.get('grow'))!.list as string[]).length, 5, 'a refused update changed nothing');
  } finally {
    SHARED_STORE.configure({ maxDocumentBytes: 1024 * 1024 });
  }
});

test('TTL as Redis sees it: save sets or clears it, update keeps it, update with removeAfterSeconds restarts it', async () => {
  const store = SHARED_STORE('u.ttl');
  const pttl = async (id: string) => Number((await redis.cli('PTTL', `bw:store:{u.ttl}:d:${id}`)).stdout);
  await store.save({ id: 'x', data: { v: 1 }, removeAfterSeconds: 100 });
  assert.ok((await pttl('x')) > 95_000);
  await store.update({ id: 'x', data: { $inc: { v: 1 } } });
  assert.ok((await pttl('x')) > 95_000 && (await pttl('x')) <= 100_000, 'update kept the expiry');
  await store.update({ id: 'x', data: { v: 3 }, removeAfterSeconds: 200 });
  assert.ok((await pttl('x')) > 195_000, 'update with removeAfterSeconds restarted it');
  await store.save({ id: 'x', data: { v: 4 } });
  assert.is(await pttl('x'), -1, 'save without removeAfterSeconds: no expiry');
  assert.is((await redis.cli('ZSCORE', 'bw:store:{u.ttl}:ids', 'x')).stdout.trim(), 'inf');
  assert.equal(await store.create({ id: 'y', data: { v: 1 }, removeAfterSeconds: 50 }), { v: 1 });
  assert.ok((await pttl('y')) > 45_000);
});

test('documents rest in Redis as boxwire msgpack: [], {}, 2^53−1, nested empty arrays, Date, Map and bigint come back as they went in', async () => {
  const store = SHARED_STORE('u.bytes');
  const data = { empty: [], obj: {}, max: 2 ** 53 - 1, nested: [[], [[]], { a: [] }], when: new Date(1_700_000_000_000), map: new Map([['k', 1]]), big: 2n ** 62n };
  await store.save({ id: 'e', data });
  assert.is((await redis.cli('TYPE', 'bw:store:{u.bytes}:d:e')).stdout.trim(), 'string', 'one string key per document');
  // The value is a short header (version, expiry) and the document's bytes, which decode (with
  // boxwire's codec) to exactly what was saved.
  const client = (storeEngine() as unknown as { copy: { connections: { command: { getBuffer: (k: string) => Promise<Buffer> } } } }).copy.connections.command;
  const value = await client.getBuffer('bw:store:{u.bytes}:d:e');
  const { entry, version } = readStoredDocument(value);
  assert.match(version, /^\d+-\d+$/);
  assert.equal(entry.doc, data);
  assert.equal(decode(value.subarray(2 + value[0] + 0)), data, 'after the header (version, then an empty expiry): the msgpack bytes');
  assert.equal(await store.get('e'), data);
});

test.run();
