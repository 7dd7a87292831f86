// The Redis settings every Redis-backed feature reads, and the connection behaviour they rely on,
// against a real redis-server: commands fail fast while Redis is away and work again after it returns.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError } from '../../src/core/errors.js';
import { configureRedis, parseRedisSettings, redisSettings, requireRedisSettings, describeRedis } from '../../src/redis/redis-settings.js';
import { createRedisConnection, whenRedisReady } from '../../src/redis/redis-connection.js';
import { parseClusterConfig } from '../../src/config/index.js';
import { RedisServer } from '../helpers/redis-server.js';

test('settings: code beats the environment; URL, cluster list and clear errors', () => {
  configureRedis(undefined);
  assert.is(redisSettings({}), undefined);
  assert.equal(redisSettings({ BOXWIRE_REDIS_URL: 'redis://127.0.0.1:6391/2' }), { url: 'redis://127.0.0.1:6391/2' });
  assert.equal(redisSettings({ BOXWIRE_REDIS_CLUSTER: '127.0.0.1:7001, 127.0.0.1:7002' }), { cluster: [{ host: '127.0.0.1', port: 7001 }, { host: '127.0.0.1', port: 7002 }] });
  configureRedis({ url: 'redis://127.0.0.9:1' });
  assert.equal(redisSettings({ BOXWIRE_REDIS_URL: 'redis://127.0.0.1:6391' }), { url: 'redis://127.0.0.9:1' });
  configureRedis(undefined);
  assert.throws(() => parseRedisSettings('http://x', 'test'), (e: Error) => e instanceof ConfigError && /redis:\/\/ or rediss:\/\//.test(e.message));
  assert.throws(() => parseRedisSettings({ cluster: ['nohost'] }, 'test'), /host:port/);
  assert.throws(() => requireRedisSettings('LOCK'), (e: Error) => e instanceof ConfigError && /LOCK needs Redis: set BOXWIRE_REDIS_URL/.test(e.message));
  assert.is(describeRedis({ url: 'redis://user:secret@10.1.2.3:6379/1' }), 'redis://10.1.2.3:6379/1');
});

test('config: redis url or cluster, store engine, and what is refused', () => {
  const base = { clusteringPort: 8125, servers: { a: { host: '127.0.0.2', webPort: 8080 } } };
  const withUrl = parseClusterConfig({ ...base, redis: { url: 'env:REDIS_URL' }, store: { engine: 'redis' } }, { env: { REDIS_URL: 'redis://127.0.0.1:6391' } });
  assert.equal(withUrl.redis, { url: 'redis://127.0.0.1:6391' });
  assert.equal(withUrl.store, { engine: 'redis' });
  assert.equal(parseClusterConfig({ ...base, redis: { cluster: ['127.0.0.1:7001', '127.0.0.1:7002'] } }).redis, { cluster: ['127.0.0.1:7001', '127.0.0.1:7002'] });
  assert.throws(() => parseClusterConfig({ ...base, store: { engine: 'redis' } }), /store\.engine: "redis" needs the "redis" section/);
  assert.throws(() => parseClusterConfig({ ...base, store: { engine: 'mysql' } }), /store\.engine: must be "memory" or "redis"/);
  assert.throws(() => parseClusterConfig({ ...base, redis: { url: 'redis://x', cluster: ['a:1'] } }), /either url or cluster/);
});

test('a command connection fails fast while Redis is down and recovers when it is back', async () => {
  const server = await new RedisServer().start();
  const settings = { url: server.url };
  const client = createRedisConnection(settings, 'command', { name: 'test' });
  try {
    await whenRedisReady(client, settings);
    await client.set('k', 'v');
    await server.kill9();
    const started = Date.now();
    const failure = await client.get('k').then(() => undefined, (error: Error) => error);
    assert.ok(failure, 'a command while Redis is down rejects');
    assert.ok(Date.now() - started < 6_000, `rejected within the command deadline (took ${Date.now() - started} ms)`);
    await server.start();
    await whenRedisReady(client, settings, 10_000);
    assert.is(await client.get('k'), null, 'a restarted empty Redis answers (no persistence in this test)');
    await client.set('k', 'again');
    assert.is(await client.get('k'), 'again');
  } finally {
    client.disconnect();
    await server.dispose();
  }
});

test.run();
