// `boxwire start` with the Redis store engine chosen in the cluster config ("redis": { "url":
// "env:…" }, "store": { "engine": "redis" }): two servers × 2 workers share the sample box's
// counter through Redis, and it survives a restart of every boxwire process.
import { test } from 'uvu';
import { until } from '../helpers/until.js';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { repoRoot } from '../helpers/process-harness.js';
import { ClusterServers, waitClusterUp, writeConfig } from '../helpers/roles-cluster.js';
import { RedisServer, freeTcpPort } from '../helpers/redis-server.js';

async function callBox(base: string, method: string, data?: unknown): Promise<unknown> {
  const response = await fetch(`${base}/__API/sample/${method}`, { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(data ?? {}) });
  const body = (await response.json()) as { result?: unknown; error?: unknown };
  if (response.status !== 200) throw new Error(`${method}: ${response.status} ${JSON.stringify(body)}`);
  return body.result;
}

test('config store.engine "redis": servers share the store through Redis and keep it across a restart of every process', async () => {
  const redis = await new RedisServer().start();
  const webPort = await freeTcpPort('127.0.0.2');
  const servers = { one: { host: '127.0.0.2', webPort }, two: { host: '127.0.0.3', webPort, roles: ['api'] } };
  const { path } = writeConfig({ clusteringPort: await freeTcpPort('127.0.0.2'), clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'], servers, redis: { url: 'env:TEST_REDIS_URL' }, store: { engine: 'redis' } });
  const env = { BOXWIRE_BOXES: join(repoRoot, 'boxes'), BOXWIRE_WORKERS: '2', TEST_REDIS_URL: redis.url };
  const urls = Object.values(servers).map((s) => `http://${s.host}:${s.webPort}`);
  let cluster = new ClusterServers(path, env);
  try {
    for (const name of Object.keys(servers)) cluster.start(name);
    await waitClusterUp(urls[0], Object.values(servers), 2);
    const start = (await callBox(urls[0], 'getCounter')) as number;
    // Four calls per server, spread over its workers by the kernel, all at once.
    await Promise.all(urls.flatMap((url) => Array.from({ length: 4 }, () => callBox(url, 'increment', { by: 1 }))));
    // Each call answered once its own worker's copy showed it; another worker's copy follows the
    // feed a moment later (the engine's consistency model): every server converges to start + 8.
    for (const url of urls) await until(`${url} reads ${start + 8}`, async () => ((await callBox(url, 'getCounter')) === start + 8 ? true : undefined), 10_000);
    const stored = (await redis.cli('EXISTS', 'bw:store:{sample.counter}:d:clicks')).stdout.trim();
    assert.is(stored, '1', 'the counter lives in Redis');

    await cluster.stopAll();
    cluster = new ClusterServers(path, env);
    for (const name of Object.keys(servers)) cluster.start(name);
    await waitClusterUp(urls[0], Object.values(servers), 2);
    assert.is(await callBox(urls[1], 'getCounter'), start + 8, 'onBoot found the counter in Redis and left it');
  } finally {
    await cluster.stopAll();
    await redis.dispose();
  }
});

test.run();
