// GET /__METRICS on a 3-server cluster under traffic (real `boxwire start` processes): each
// server's figures are aggregated over its master and workers, and the families move as they
// should — API calls and rate-limited calls count, a cut link shows up (link down, replication
// lag) and heals (reconnect), a killed worker counts a restart, uploads and WebSocket clients
// count. Plus the token and the Prometheus scrape config for the same cluster.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import { join } from 'node:path';
import WebSocket from 'ws';
import { repoRoot } from '../helpers/process-harness.js';
import { CLUSTER_KEY, ClusterServers, waitClusterUp, writeConfig } from '../helpers/roles-cluster.js';

const WEB = 18640;
const TOKEN = 'metrics-test-token-0123456789';
const servers = {
  a: { host: '127.0.0.2', webPort: WEB, workers: 2 },
  b: { host: '127.0.0.3', webPort: WEB },
  c: { host: '127.0.0.4', webPort: WEB },
};
const { path } = writeConfig({ clusteringPort: WEB + 1, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'], servers });
// A slow refill, so a burst from one client address is refused in part whatever the machine's speed.
const cluster = new ClusterServers(path, { BOXWIRE_API_CALLS_PER_SECOND: '1', BOXWIRE_API_BURST: '40' });
const A = `http://127.0.0.2:${WEB}`;
const B = `http://127.0.0.3:${WEB}`;

test.before(async () => {
  cluster.start('a', { BOXWIRE_WORKERS: '2' });
  cluster.start('b', { BOXWIRE_METRICS_TOKEN: TOKEN });
  cluster.start('c');
  await waitClusterUp(A, Object.values(servers), 3);
});
test.after(async () => {
  cluster.servers.get('c')?.child.kill('SIGCONT');
  await cluster.stopAll();
});

// ---- reading the text format --------------------------------------------------------------

type Labels = Record<string, string>;
class Scrape {
  readonly samples = new Map<string, number>();
  constructor(readonly text: string) {
    for (const line of text.split('\n')) {
      if (!line || line.startsWith('#')) continue;
      const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
      if (!match) throw new Error(`not a sample line: ${line}`);
      const labels = Object.fromEntries([...(match[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((m) => [m[1], m[2]]));
      this.samples.set(key(match[1], labels), Number(match[3]));
    }
  }
  /** The value of one sample, or undefined when the scrape does not hold it. */
  get(name: string, labels: Labels = {}): number | undefined {
    return this.samples.get(key(name, labels));
  }
  /** The value, failing when the sample is missing. */
  value(name: string, labels: Labels = {}): number {
    const value = this.get(name, labels);
    assert.ok(value !== undefined, `${key(name, labels)} in the scrape:\n${this.text.slice(0, 6000)}`);
    return value!;
  }
  /** Label sets present for a family. */
  labelsOf(name: string): Labels[] {
    return [...this.samples.keys()].filter((k) => k.startsWith(`${name}{`) || k === name).map((k) => JSON.parse(k.slice(name.length) || '{}'));
  }
}
const key = (name: string, labels: Labels) => `${name}${Object.keys(labels).length ? JSON.stringify(Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, String(v)]).sort())) : ''}`;

async function scrape(base: string, headers: Record<string, string> = {}): Promise<Scrape> {
  const response = await fetch(`${base}/__METRICS`, { headers, signal: AbortSignal.timeout(10_000) });
  assert.is(response.status, 200, await response.clone().text());
  assert.match(response.headers.get('content-type')!, /^text\/plain; version=0\.0\.4/);
  return new Scrape(await response.text());
}

/** Scrapes until `check` holds (the server's own state is the event; generous deadline). */
async function scrapeUntil(base: string, check: (s: Scrape) => boolean, what: string, timeoutMs = 30_000): Promise<Scrape> {
  const deadline = Date.now() + timeoutMs;
  let last: Scrape | undefined;
  for (;;) {
    try {
      last = await scrape(base);
      if (check(last)) return last;
    } catch (error) {
      if (Date.now() > deadline) throw error;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}; last scrape:\n${last?.text.slice(0, 8000)}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const call = (base: string, method: string, data: unknown = null) =>
  fetch(`${base}/__API/sample/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(data) });

const HTTP_INCREMENT = { transport: 'http', box: 'sample', method: 'increment' };

// ---- the tests ----------------------------------------------------------------------------

test('every server answers in the Prometheus text format, aggregated over its master and workers', async () => {
  // The cluster is up once every server links; a's second worker may still be finishing its
  // start (a worker not yet ready counts as missing, rightly): wait for it, then read.
  const a = await scrapeUntil(A, (s) => s.get('boxwire_metrics_processes') === 3, 'both workers of a in the scrape');
  assert.is(a.value('boxwire_metrics_processes'), 3, 'master + 2 workers');
  assert.is(a.value('boxwire_metrics_processes_missing'), 0);
  for (const process of ['master', 'worker-1', 'worker-2']) {
    assert.ok(a.value('boxwire_heap_used_bytes', { process }) > 0, process);
    assert.ok(a.value('boxwire_event_loop_lag_seconds', { process, stat: 'p99' }) >= 0, process);
  }
  for (const peer of ['b', 'c']) {
    assert.is(a.value('boxwire_link_up', { peer }), 1, peer);
    assert.ok(a.value('boxwire_heartbeat_rtt_seconds', { peer }) >= 0, peer);
    assert.ok(Math.abs(a.value('boxwire_clock_offset_seconds', { peer })) < 1, peer);
    assert.is(a.value('boxwire_outbox_messages', { peer }), 0, peer);
    assert.is(a.value('boxwire_outbox_overflows_total', { peer }), 0, peer);
  }
  assert.equal(a.labelsOf('boxwire_worker_up'), [{ worker: '1' }, { worker: '2' }]);
  assert.is(a.value('boxwire_request_duration_seconds_bucket', { le: '+Inf' }), a.value('boxwire_request_duration_seconds_count'));
  const c = await scrape(`http://127.0.0.4:${WEB}`);
  assert.is(c.value('boxwire_metrics_processes'), 2, 'master + 1 worker');
});

test('traffic moves the message, API, store, WebSocket, upload and latency families', async () => {
  const before = await scrape(A);
  const C = `http://127.0.0.4:${WEB}`;
  const cBefore = await scrape(C);
  const calls = 8;
  for (let i = 0; i < calls; i++) assert.is((await call(A, 'increment', { by: 1 })).status, 200);
  assert.is((await call(A, 'nosuchmethod')).status, 404);
  // Requests between processes: each /__STATUS asks the master, which asks the other servers.
  for (let i = 0; i < 40; i++) await (await fetch(`${A}/__STATUS`)).text();
  const socket = new WebSocket(`ws://127.0.0.2:${WEB}/__API`);
  await once(socket, 'open');
  socket.send(JSON.stringify({ id: 1, box: 'sample', method: 'getCounter' }));
  await once(socket, 'message');
  const upload = new FormData();
  upload.append('file', new Blob([new Uint8Array(1234).fill(7)], { type: 'application/octet-stream' }), 'data.bin');
  assert.is((await fetch(`${A}/__UPLOAD?box=sample`, { method: 'POST', body: upload })).status, 201);

  const after = await scrapeUntil(A, (s) => s.get('boxwire_websocket_clients') === 1, 'the WebSocket client to be counted');
  assert.is(after.value('boxwire_api_calls_total', HTTP_INCREMENT) - (before.get('boxwire_api_calls_total', HTTP_INCREMENT) ?? 0), calls);
  assert.ok(after.value('boxwire_api_errors_total', { transport: 'http', box: 'sample', method: '(unknown)' }) >= 1, 'a call to an unknown method is an error, under (unknown)');
  assert.is(after.value('boxwire_api_calls_total', { transport: 'ws', box: 'sample', method: 'getCounter' }), 1);
  assert.is(after.value('boxwire_upload_files_total') - (before.get('boxwire_upload_files_total') ?? 0), 1);
  assert.is(after.value('boxwire_upload_bytes_total') - (before.get('boxwire_upload_bytes_total') ?? 0), 1234);
  for (const channel of ['server', 'system']) {
    assert.ok(after.value('boxwire_messages_sent_total', { channel }) > (before.get('boxwire_messages_sent_total', { channel }) ?? 0), `sent on ${channel}`);
  }
  assert.ok(after.value('boxwire_messages_received_total', { channel: 'system' }) > before.value('boxwire_messages_received_total', { channel: 'system' }), 'received on system');
  assert.ok(after.value('boxwire_request_duration_seconds_count') > before.value('boxwire_request_duration_seconds_count'), 'sampled request latencies');
  assert.ok(after.value('boxwire_request_duration_seconds_sum') > 0);
  assert.is(after.value('boxwire_store_documents', { store: 'sample.counter' }), 1);
  // The counter replicates to c, and a's room pushes reach c on the server channel.
  const c = await scrapeUntil(C, (s) => s.get('boxwire_store_documents', { store: 'sample.counter' }) === 1, 'the counter on c');
  assert.ok(c.value('boxwire_messages_received_total', { channel: 'server' }) > (cBefore.get('boxwire_messages_received_total', { channel: 'server' }) ?? 0), 'c received on server');
  await scrapeUntil(A, (s) => s.get('boxwire_store_unacked_operations', { peer: 'b' }) === 0 && s.get('boxwire_store_unacked_operations', { peer: 'c' }) === 0,
    'b and c to hold every write made on a');
  socket.close();
  await scrapeUntil(A, (s) => s.get('boxwire_websocket_clients') === 0, 'the WebSocket client to be gone');
});

/** A call from its own client address (the HTTP rate limit is per address). */
function callFrom(localAddress: string, method: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const request = http.request({ host: '127.0.0.2', port: WEB, path: `/__API/sample/${method}`, method: 'POST', localAddress, agent: false, headers: { 'content-type': 'application/json' } }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode!));
    });
    request.on('error', reject);
    request.end('null');
  });
}

test('rate-limited calls count, per box and method, as many as were refused', async () => {
  const before = await scrape(A);
  const burst = 150;
  const statuses = await Promise.all(Array.from({ length: burst }, () => callFrom('127.0.0.9', 'getCounter')));
  const refused = statuses.filter((s) => s === 429).length;
  assert.ok(refused > 0, `some of the burst was refused: ${statuses.join(',')}`);
  const labels = { transport: 'http', box: 'sample', method: 'getCounter' };
  const after = await scrape(A);
  assert.is(after.value('boxwire_api_rate_limited_total', labels) - (before.get('boxwire_api_rate_limited_total', labels) ?? 0), refused);
  assert.is(after.value('boxwire_api_calls_total', labels) - (before.get('boxwire_api_calls_total', labels) ?? 0), burst);
  assert.is(after.get('boxwire_api_errors_total', labels) ?? 0, before.get('boxwire_api_errors_total', labels) ?? 0, 'refusals are not counted as errors');
});

test('a cut link shows up (link down, writes not acknowledged by the cut server) and heals (reconnect)', async () => {
  const c = cluster.servers.get('c')!;
  const before = await scrape(A);
  assert.is(before.value('boxwire_link_up', { peer: 'c' }), 1);
  c.child.kill('SIGSTOP'); // c's master (it owns the links) goes silent, like a dead route
  try {
    const cut = await scrapeUntil(A, (s) => s.get('boxwire_link_up', { peer: 'c' }) === 0, 'a to see the link to c down');
    assert.is(cut.value('boxwire_link_downs_total', { peer: 'c' }), before.value('boxwire_link_downs_total', { peer: 'c' }) + 1);
    assert.is(cut.value('boxwire_link_up', { peer: 'b' }), 1, 'the other link stays up');
    for (let i = 0; i < 5; i++) assert.is((await call(A, 'increment', { by: 1 })).status, 200);
    await scrapeUntil(A, (s) => (s.get('boxwire_store_unacked_operations', { peer: 'c' }) ?? 0) >= 5 && s.get('boxwire_store_unacked_operations', { peer: 'b' }) === 0,
      'writes acknowledged by b and not by c');
  } finally {
    c.child.kill('SIGCONT');
  }
  const healed = await scrapeUntil(A, (s) => s.get('boxwire_link_up', { peer: 'c' }) === 1 && s.get('boxwire_store_unacked_operations', { peer: 'c' }) === 0,
    'the link to c back up and c caught up');
  assert.ok(healed.value('boxwire_link_reconnects_total', { peer: 'c' }) >= before.value('boxwire_link_reconnects_total', { peer: 'c' }) + 1);
});

test('a killed worker counts as a restart of its id, and comes back', async () => {
  const before = await scrape(A);
  assert.is(before.value('boxwire_worker_restarts_total', { worker: '1' }), 0);
  const status = await (await fetch(`${A}/__STATUS`)).json();
  const detail = status.servers.find((s: { name: string }) => s.name === 'a').detail;
  const pid = detail.workers.pids['1'];
  assert.ok(pid > 0, JSON.stringify(detail.workers));
  process.kill(pid, 'SIGKILL');
  const after = await scrapeUntil(A, (s) => s.get('boxwire_worker_restarts_total', { worker: '1' }) === 1 && s.get('boxwire_worker_up', { worker: '1' }) === 1,
    'worker 1 restarted and ready');
  assert.is(after.value('boxwire_worker_restarts_total', { worker: '2' }), 0);
  assert.is(after.value('boxwire_metrics_processes'), 3);
});

test('BOXWIRE_METRICS_TOKEN: without the bearer token 401, with it the figures', async () => {
  assert.is((await fetch(`${B}/__METRICS`)).status, 401);
  assert.is((await fetch(`${B}/__METRICS`, { headers: { authorization: 'Bearer wrong' } })).status, 401);
  const b = await scrape(B, { authorization: `Bearer ${TOKEN}` });
  assert.is(b.value('boxwire_link_up', { peer: 'a' }), 1);
  assert.is((await fetch(`${A}/__METRICS`, { method: 'POST' })).status, 405);
});

test('boxwire ops prometheus prints a scrape target for every server', () => {
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/boxwire.js'), 'ops', 'prometheus', '--config', path, '--token-file', '/etc/prometheus/boxwire-token'], { encoding: 'utf8', env: { ...process.env, BOXWIRE_CLUSTER_KEY: CLUSTER_KEY } });
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, /metrics_path: "\/__METRICS"/);
  assert.match(result.stdout, /credentials_file: "\/etc\/prometheus\/boxwire-token"/);
  for (const [name, server] of Object.entries(servers)) {
    assert.match(result.stdout, new RegExp(`- targets: \\["${server.host.replace(/\./g, '\\.')}:${WEB}"\\]\\n {8}labels:\\n {10}server: "${name}"`));
  }
});

test.run();
