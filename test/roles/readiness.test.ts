/**
 * `/__READY` on a real server (two workers), probed by the test as a load balancer would:
 * 200 while serving; SIGUSR2 → 503 `draining`, the server waits for this prober to see enough
 * 503s before replacing workers, then 200 again; SIGTERM → 503 `stopping`, then the process
 * exits 0. `/__CHECK_ALIVE` stays 200 throughout draining (liveness, not readiness), and answers
 * while not ready close their connection.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request } from 'node:http';
import { ClusterServers, waitHttp, writeConfig } from '../helpers/roles-cluster.js';
import { portFreeOnAll } from '../helpers/load-balancers.js';

const HOST = '127.0.0.71';
let url = '';
let cluster: ClusterServers;

test.before(async () => {
  const webPort = await portFreeOnAll([HOST]);
  const clusteringPort = await portFreeOnAll([HOST]);
  const { path } = writeConfig({ clusteringPort, defaultBox: 'sample', boxes: ['sample'], servers: { solo: { host: HOST, webPort, workers: 2 } } });
  cluster = new ClusterServers(path, { BOXWIRE_LOG: 'info' });
  url = `http://${HOST}:${webPort}`;
  cluster.start('solo', { BOXWIRE_WORKERS: '2' });
});
test.after(() => cluster.stopAll());

function probe(path: string): Promise<{ status: number; body: string; connection: string | undefined }> {
  return new Promise((resolve, reject) => {
    const req = request(`${url}${path}`, { agent: false, headers: { Connection: 'keep-alive' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }));
    });
    req.on('error', reject);
    req.end();
  });
}

/** Probes every 100 ms, like a balancer, collecting the answers until `until` says stop. */
async function probeUntil(until: (answer: { status: number; body: string } | Error) => boolean, timeoutMs = 60_000): Promise<Array<{ status: number; body: string } | Error>> {
  const seen: Array<{ status: number; body: string } | Error> = [];
  for (const deadline = Date.now() + timeoutMs; ;) {
    const answer = await probe('/__READY').catch((error: Error) => error);
    seen.push(answer);
    if (until(answer)) return seen;
    assert.ok(Date.now() < deadline, `gave up; answers: ${JSON.stringify(seen.slice(-5))}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test('ready once every worker is up', async () => {
  await waitHttp(`${url}/__READY`, (status, body) => (status === 200 && body === 'ready' ? true : undefined));
  const answer = await probe('/__READY');
  assert.is(answer.connection, 'keep-alive');
});

test('SIGUSR2: 503 draining while the workers are replaced (after this prober saw it), then ready again; liveness stays 200', async () => {
  const server = cluster.servers.get('solo')!;
  const before = await probe('/__READY');
  assert.is(before.status, 200);
  server.kill('SIGUSR2');
  const seen = await probeUntil((a) => !(a instanceof Error) && a.status === 503);
  const draining = seen.at(-1) as { status: number; body: string };
  assert.equal(JSON.parse(draining.body), { state: 'draining' });
  const alive = await probe('/__CHECK_ALIVE');
  assert.is(alive.status, 200, 'liveness is not readiness');
  assert.is(alive.connection, 'close', 'not ready: every answer closes its connection');
  const rest = await probeUntil((a) => !(a instanceof Error) && a.status === 200);
  const notReady = [draining, ...rest].filter((a) => !(a instanceof Error) && a.status === 503).length;
  assert.ok(notReady >= 3, `the server waited for this prober to see 503 three times (saw ${notReady})`);
  assert.ok(rest.every((a) => !(a instanceof Error)), 'answers all along the restart');
  // The drain ended before the first replacement worker was started.
  const log = server.stderr.split('\n');
  const drained = log.findIndex((line) => line.includes('"server.drained"'));
  const replaced = log.findIndex((line, i) => i > drained && line.includes('"worker.ready"'));
  assert.ok(drained >= 0 && replaced > drained, 'drained, then workers replaced');
});

test('SIGTERM: 503 stopping, then the process exits 0', async () => {
  const server = cluster.servers.get('solo')!;
  server.kill('SIGTERM');
  const seen = await probeUntil((a) => a instanceof Error);
  const stopping = seen.filter((a): a is { status: number; body: string } => !(a instanceof Error) && a.status === 503);
  assert.ok(stopping.length >= 3, `503s before the process stopped listening: ${stopping.length}`);
  assert.equal(JSON.parse(stopping[0].body), { state: 'stopping' });
  assert.is((await server.exited).code, 0);
});

test.run();
