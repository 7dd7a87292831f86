// /__METRICS in a process without CPU clustering (its own master and worker 1 of 1), and the
// switches: BOXWIRE_METRICS=off, BOXWIRE_METRICS_TOKEN, methods other than GET/HEAD.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { once } from 'node:events';
import { CPU_CLUSTERING, MASTER } from '../../src/index.js';
import { Channel } from '../../src/core/envelope.js';
import { currentEndpoint } from '../../src/cpu/runtime.js';
import { installMetricsHandlers } from '../../src/metrics/cluster-scrape.js';
import { handleMetrics } from '../../src/metrics/metrics-endpoint.js';
import { metricsEnabled } from '../../src/metrics/metrics-enabled.js';

const server = http.createServer((req, res) => handleMetrics(req, res));
let base = '';

test.before(async () => {
  installMetricsHandlers();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  base = `http://127.0.0.1:${(server.address() as { port: number }).port}/__METRICS`;
});
test.after(() => void server.close());

test('BOXWIRE_METRICS: off, 0, false and no turn it off; anything else leaves it on', () => {
  for (const value of ['off', 'OFF', '0', 'false', 'no']) assert.not.ok(metricsEnabled({ BOXWIRE_METRICS: value }), value);
  for (const value of [undefined, '', 'on', '1']) assert.ok(metricsEnabled({ BOXWIRE_METRICS: value }), String(value));
});

test('a solo process reports itself as worker-1; its own requests and messages count', async () => {
  CPU_CLUSTERING.on('echo', (data: unknown) => data);
  for (let i = 0; i < 40; i++) await CPU_CLUSTERING.request({ workerId: 1, methodName: 'echo', data: i });
  currentEndpoint().message({ worker: MASTER }, Channel.Cpu, 'echo', 'one way');
  const response = await fetch(base);
  assert.is(response.status, 200);
  const text = await response.text();
  assert.match(text, /^boxwire_metrics_processes 1$/m);
  assert.match(text, /^boxwire_heap_used_bytes\{process="worker-1"\} \d+/m);
  const sent = Number(/^boxwire_messages_sent_total\{channel="cpu"\} (\d+)/m.exec(text)?.[1]);
  assert.ok(sent >= 81, `40 requests + 40 replies + 1 message, got ${sent}`);
  const timed = Number(/^boxwire_request_duration_seconds_count (\d+)/m.exec(text)?.[1]);
  assert.ok(timed >= 2, `one request in 16 is timed, got ${timed}`);
  assert.not.match(text, /boxwire_link_up\{/, 'no mesh, no links');
});

test('HEAD answers headers only; POST is refused', async () => {
  const head = await fetch(base, { method: 'HEAD' });
  assert.is(head.status, 200);
  const { Registry } = await import('prom-client');
  assert.is(head.headers.get('content-type'), Registry.PROMETHEUS_CONTENT_TYPE);
  assert.is(await head.text(), '');
  assert.is((await fetch(base, { method: 'POST' })).status, 405);
});

test('BOXWIRE_METRICS_TOKEN and BOXWIRE_METRICS=off are read per request', async () => {
  process.env.BOXWIRE_METRICS_TOKEN = 'secret-token';
  try {
    assert.is((await fetch(base)).status, 401);
    assert.is((await fetch(base, { headers: { authorization: 'Bearer secret-token' } })).status, 200);
  } finally {
    delete process.env.BOXWIRE_METRICS_TOKEN;
  }
  process.env.BOXWIRE_METRICS = 'off';
  try {
    assert.is((await fetch(base)).status, 404);
  } finally {
    delete process.env.BOXWIRE_METRICS;
  }
});

test.run();
