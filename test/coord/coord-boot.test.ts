// LOCK, QUEUE and UNIQUE_ID from box methods on a real server (`boxwire start`, CPU clustering with
// 2 workers), as apps use them: first the embedded default `npm start` runs (no Redis: the state in
// the master), then the same server on a real redis-server (the node ids leased as workers start).
// HTTP calls are balanced across the workers by node:cluster.
import { suite, type Test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from '../helpers/process-harness.js';
import { RedisServer, freeTcpPort } from '../helpers/redis-server.js';
import { ClusterServers, waitHttp, writeConfig } from '../helpers/roles-cluster.js';

function serverSuite(name: string, redis?: RedisServer): Test {
  const test = suite(name);
  const dir = mkdtempSync(join(tmpdir(), 'boxwire-coord-boot-'));
  const counterFile = join(dir, 'counter');
  const jobsFile = join(dir, 'jobs');
  writeFileSync(counterFile, '0');
  writeFileSync(jobsFile, '');
  let base = '';
  let cluster: ClusterServers;
  const env = {
    BOXWIRE_BOXES: join(repoRoot, 'test/fixtures/boxes'), BOXWIRE_WORKERS: '2', BOXWIRE_REDIS_CLUSTER: '',
    COORD_COUNTER_FILE: counterFile, COORD_JOBS_FILE: jobsFile, BOXWIRE_API_CALLS_PER_SECOND: '100000', BOXWIRE_API_BURST: '100000',
  };

  async function call(method: string, data: unknown = {}): Promise<any> {
    const response = await fetch(`${base}/__API/coord/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) });
    const body = await response.json();
    if (response.status !== 200) throw new Error(`${method}: ${response.status} ${JSON.stringify(body)}`);
    return body.result ?? body;
  }

  test.before(async () => {
    if (redis) await redis.start();
    const webPort = await freeTcpPort('127.0.0.1');
    const { path } = writeConfig({ clusteringPort: await freeTcpPort(), defaultBox: 'coord', boxes: ['coord'], servers: { solo: { host: '127.0.0.1', webPort } } });
    cluster = new ClusterServers(path, { ...env, BOXWIRE_REDIS_URL: redis?.url ?? '' });
    base = `http://127.0.0.1:${webPort}`;
    cluster.start('solo');
    await waitHttp(`${base}/__CHECK_ALIVE`, (status) => (status === 200 ? true : undefined), 60_000);
  });
  test.after(async () => {
    await cluster.stopAll();
    await redis?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  test('LOCK across the workers of one server: 200 concurrent locked increments lose nothing, fences increase with the value', async () => {
    const results = await Promise.all(Array.from({ length: 200 }, () => call('lockedIncrement')));
    assert.is(Number(readFileSync(counterFile, 'utf8')), 200);
    const byValue = [...results].sort((a, b) => a.value - b.value);
    for (let i = 1; i < byValue.length; i++) assert.ok(byValue[i].fence > byValue[i - 1].fence);
    assert.is(new Set(results.map((r) => r.pid)).size, 2, 'both workers took the lock');
  });

  test('UNIQUE_ID across the workers: no repeats', async () => {
    // On Redis each worker leases its node id as it starts (the default 5 s lease: a shorter one
    // can run out on a loaded machine between two renewals, and UNIQUE_ID rightly fails closed).
    const deadline = Date.now() + 20_000;
    while (!(await call('newId').then(() => true, () => false))) {
      if (Date.now() > deadline) throw new Error('UNIQUE_ID never became usable');
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const results = await Promise.all(Array.from({ length: 400 }, () => call('newId')));
    assert.is(new Set(results.map((r) => r.id)).size, 400);
    assert.is(new Set(results.map((r) => r.pid)).size, 2);
  });

  test('QUEUE across the workers: 100 jobs pushed through either worker, each done, counts say so', async () => {
    await Promise.all(Array.from({ length: 100 }, (_, n) => call('push', { n })));
    const deadline = Date.now() + 30_000;
    let counts = await call('counts');
    while (counts.completed < 100) {
      if (Date.now() > deadline) throw new Error(`counts: ${JSON.stringify(counts)}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
      counts = await call('counts');
    }
    assert.equal(counts, { waiting: 0, delayed: 0, active: 0, completed: 100, failed: 0 });
    const lines = readFileSync(jobsFile, 'utf8').split('\n').filter(Boolean);
    assert.is(new Set(lines.map((line) => line.split(' ')[0])).size, 100);
    assert.is(new Set(lines.map((line) => line.split(' ')[1])).size, 2, 'both workers processed jobs');
  });

  return test;
}

serverSuite('no Redis (npm start)').run();
serverSuite('on Redis', new RedisServer()).run();
