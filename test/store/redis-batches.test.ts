// The Redis engine's write batches, against a real redis-server, in one process that both writes
// and holds a copy: the writes of one turn are one feed entry (every document they wrote at that
// entry's id, each written once); a clear inside a batch removes what the batch wrote before it;
// saves of new ids stop exactly at the entry limit; a feed entry or document that is not
// boxwire's (garbage, a truncated batch) makes the copy reload instead of failing; and documents
// written by an earlier build (hashes) are read, updated and replaced.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { Redis } from 'ioredis';
import { SHARED_STORE, StoreLimitError } from '../../src/index.js';
import { encode } from '../../src/core/codec.js';
import { FeedFormatError, feedChanges } from '../../src/store/engines/redis/feed-changes.js';
import { StoredDocumentError, readStoredDocument } from '../../src/store/engines/redis/stored-document.js';
import { RedisServer } from '../helpers/redis-server.js';
import { until } from '../helpers/until.js';

let redis: RedisServer;
let client: Redis;

test.before(async () => {
  redis = await new RedisServer().start();
  client = new Redis(redis.port, redis.host);
  SHARED_STORE.configure({ engine: 'redis', redis: redis.url });
});

test.after(async () => {
  SHARED_STORE.close();
  client.disconnect();
  await redis.dispose();
});

const feedOf = (store: string) => `bw:store:{${store}}:feed`;
const docKey = (store: string, id: string) => `bw:store:{${store}}:d:${id}`;

test('the writes of one turn are one feed entry; every document they wrote has its id as version; listeners hear each write in order', async () => {
  const store = SHARED_STORE('b.turn');
  await store.ready();
  const heard: string[] = [];
  store.onChange((change) => heard.push(`${change.type}:${change.id ?? ''}:${JSON.stringify(change.document ?? null)}`));
  const before = await client.xlen(feedOf('b.turn'));
  await Promise.all([
    store.save({ id: 'a', data: { n: 1 } }),
    store.save({ id: 'b', data: { n: 2 } }),
    store.update({ id: 'a', data: { $inc: { n: 10 } } }),
    store.update({ id: 'a', data: { $inc: { n: 100 } } }),
    store.remove('b'),
    store.save({ id: 'c', data: { n: 3 } }),
  ]);
  assert.is(await client.xlen(feedOf('b.turn')), before + 1, 'one entry for the six writes');
  const [[entryId]] = await client.xrevrange(feedOf('b.turn'), '+', '-', 'COUNT', 1);
  for (const id of ['a', 'c']) assert.is(readStoredDocument((await client.getBuffer(docKey('b.turn', id)))!).version, entryId, `${id} is at the entry's id`);
  assert.is(await client.exists(docKey('b.turn', 'b')), 0, 'b was saved and removed in the batch: not in Redis');
  assert.equal(await store.all(), { a: { n: 111 }, c: { n: 3 } });
  assert.equal(heard, ['save:a:{"n":1}', 'save:b:{"n":2}', 'update:a:{"n":11}', 'update:a:{"n":111}', 'remove:b:null', 'save:c:{"n":3}']);
  assert.is(await store.count(), 2);
});

test('a clear inside a batch: what the batch wrote before it is gone (in Redis and in the copy), what it wrote after stays', async () => {
  const store = SHARED_STORE('b.clear');
  await store.save({ id: 'old', data: { n: 0 } });
  await Promise.all([store.save({ id: 'x', data: { n: 1 } }), store.update({ id: 'old', data: { $inc: { n: 1 } } }), store.clear(), store.save({ id: 'y', data: { n: 2 } })]);
  assert.equal(await store.all(), { y: { n: 2 } });
  assert.equal((await client.keys('bw:store:{b.clear}:d:*')).sort(), [docKey('b.clear', 'y')]);
  assert.equal(await client.zrange('bw:store:{b.clear}:ids', 0, -1), ['y']);
  assert.is(await store.count(), 1);
  // A second process's view: a fresh load from Redis agrees.
  const fresh = new Redis(redis.port, redis.host);
  try {
    assert.is(await fresh.zcard('bw:store:{b.clear}:ids'), 1);
  } finally {
    fresh.disconnect();
  }
});

test('saves of new ids in one batch stop exactly at the entry limit (the rest fail with StoreLimitError); saves over existing ids still apply', async () => {
  const store = SHARED_STORE('b.limit', { maxEntries: 5 });
  await store.save({ id: 'k0', data: {} });
  await store.save({ id: 'k1', data: {} });
  const outcomes = await Promise.allSettled(Array.from({ length: 8 }, (_, i) => store.save({ id: `n${i}`, data: { i } })));
  const applied = outcomes.filter((o) => o.status === 'fulfilled').length;
  assert.is(applied, 3, 'room for three more');
  for (const outcome of outcomes.slice(3)) assert.ok(outcome.status === 'rejected' && outcome.reason instanceof StoreLimitError, String((outcome as PromiseRejectedResult).reason));
  assert.is(await store.count(), 5);
  assert.is(await client.zcard('bw:store:{b.limit}:ids'), 5);
  await Promise.all([store.save({ id: 'k0', data: { again: true } }), store.save({ id: 'n0', data: { again: true } })]);
  assert.equal(await store.get('k0'), { again: true });
});

test('a feed entry that is not a batch of boxwire changes (garbage, cut short, an unknown kind): the copy reloads from the documents and tells its listeners (reset); writes go on', async () => {
  const store = SHARED_STORE('b.hostile');
  await store.save({ id: 'a', data: { n: 1 } });
  let resets = 0;
  store.onChange((change) => {
    if (change.type === 'reset') resets++;
  });
  const bad = [Buffer.from('garbage'), Buffer.from([0x73, 0, 0, 0, 9, 0x61]), Buffer.from([0x7a, 0, 0, 0, 0, 0, 0, 0, 0, 0])];
  for (const [i, payload] of bad.entries()) {
    const seq = Number(await client.hget('bw:store:{b.hostile}:meta', 'seq')) + 1;
    // As the write script would (entry and meta in one step), with a payload it never writes.
    await client.eval("local id = redis.call('XADD', KEYS[2], '*', 'n', ARGV[1], 'b', ARGV[2]) redis.call('HSET', KEYS[1], 'seq', ARGV[1], 'last', id)", 2, 'bw:store:{b.hostile}:meta', feedOf('b.hostile'), String(seq), payload);
    await until(`reset after bad entry ${i}`, async () => (resets > i ? true : undefined), 10_000);
  }
  assert.equal(await store.all(), { a: { n: 1 } });
  // An entry past what the store's meta says (not written by the script at all): skipped after one reload, not reloaded forever.
  await client.xadd(feedOf('b.hostile'), '*', 'n', '999', 'b', 'junk');
  await until('reset after the stray entry', async () => (resets > bad.length ? true : undefined), 10_000);
  await store.update({ id: 'a', data: { $inc: { n: 1 } } });
  assert.equal(await store.get('a'), { n: 2 });
  assert.is(resets, bad.length + 1, 'one reload per bad entry');
});

test('documents written by an earlier build (a hash: v, d, e) are loaded, updated and saved over, and become string documents', async () => {
  const name = 'b.legacy';
  await client.hset(`bw:store:{${name}}:meta`, 'epoch', '1.1', 'seq', '1', 'last', '1-1');
  await client.xadd(feedOf(name), '1-1', 'k', 's', 'n', '1', 'i', 'old', 'd', encode({ n: 5 }));
  for (const id of ['old', 'other']) {
    await client.hset(docKey(name, id), 'v', '1-1', 'd', encode({ n: 5, id }));
    await client.zadd(`bw:store:{${name}}:ids`, '+inf', id);
  }
  const store = SHARED_STORE(name);
  assert.equal(await store.all(), { old: { n: 5, id: 'old' }, other: { n: 5, id: 'other' } });
  assert.equal(await store.update({ id: 'old', data: { $inc: { n: 1 } } }), { n: 6, id: 'old' });
  await store.save({ id: 'other', data: { replaced: true } });
  for (const id of ['old', 'other']) assert.is(await client.type(docKey(name, id)), 'string', `${id} is a string document now`);
  assert.equal(await store.all(), { old: { n: 6, id: 'old' }, other: { replaced: true } });
  assert.is(await store.count(), 2);
});

test('the parsers refuse what is not theirs with a typed error', () => {
  const entry = (fields: Record<string, Buffer>) => ({ id: '1-1', fields: new Map(Object.entries(fields)) });
  assert.throws(() => feedChanges(entry({ b: Buffer.from([0x73, 0, 0, 0, 200]) })), (e: Error) => e instanceof FeedFormatError && /cut short/.test(e.message));
  assert.throws(() => feedChanges(entry({ b: Buffer.from([0x71, 0, 0, 0, 0]) })), (e: Error) => e instanceof FeedFormatError && /unknown change kind/.test(e.message));
  const withExpiry = Buffer.concat([Buffer.from([0x73, 0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0xc0, 3]), Buffer.from('1e9')]);
  assert.throws(() => feedChanges(entry({ b: withExpiry })), (e: Error) => e instanceof FeedFormatError && /expiry/.test(e.message));
  assert.throws(() => feedChanges(entry({ k: Buffer.from('s'), i: Buffer.from('x') })), (e: Error) => e instanceof FeedFormatError && /without a document/.test(e.message));
  assert.throws(() => feedChanges(entry({})), (e: Error) => e instanceof FeedFormatError);
  const ok = Buffer.concat([Buffer.from([0x75, 0, 0, 0, 1, 0x61, 0, 0, 0, 1, 0xc0, 13]), Buffer.from('1796445217917')]);
  assert.equal(feedChanges(entry({ b: ok })), [{ kind: 'u', id: 'a', data: Buffer.from([0xc0]), expiresAt: 1796445217917 }]);

  assert.throws(() => readStoredDocument(Buffer.from([9, 0x31])), (e: Error) => e instanceof StoredDocumentError && /cut short/.test(e.message));
  assert.throws(() => readStoredDocument(Buffer.concat([Buffer.from([3]), Buffer.from('abc'), Buffer.from([0, 0xc0])])), (e: Error) => e instanceof StoredDocumentError && /version/.test(e.message));
  assert.equal(readStoredDocument(Buffer.concat([Buffer.from([3]), Buffer.from('1-2'), Buffer.from([0]), encode({ a: 1 })])), { entry: { doc: { a: 1 } }, version: '1-2' });
});

test.run();
