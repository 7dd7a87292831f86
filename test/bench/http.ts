// API role benchmark (issue 5): a box method called over HTTP (`POST /__API/bench/add`, driven
// by autocannon) and over WebSocket (a pipelining client), on a boxwire API server, beside bare
// node:http and bare `ws` servers doing the same work in the same run, in the same process
// layout (one worker behind a node:cluster master). Target: ≥ 0.8× the bare server's req/s.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

const autocannon = createRequire(import.meta.url)('autocannon');
const root = join(import.meta.dirname, '..', '..');
const DURATION = Number(process.env.BENCH_SECONDS ?? 5);
const CONNECTIONS = 50;
const WS_CONNECTIONS = 20;
const WS_WINDOW = 20;
const RUNS = Number(process.env.BENCH_RUNS ?? 2);
const body = JSON.stringify({ a: 2, b: 3 });

function waitForLine(child: ChildProcess, pattern: RegExp): Promise<void> {
  return new Promise((resolve, reject) => {
    let seen = '';
    const onData = (chunk: Buffer) => {
      seen += chunk;
      if (pattern.test(seen)) resolve();
    };
    child.stdout!.on('data', onData);
    child.stderr!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${seen}`)));
  });
}

async function stop(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  await exited;
}

async function startBare(): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, '_http-bare.ts')], { env: { ...process.env, BENCH_HOST: '127.0.0.2', BENCH_PORT: '18560' }, stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLine(child, /ready/);
  return child;
}

async function startBoxwire(): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'boxwire-bench-'));
  const config = join(dir, 'cluster.json');
  writeFileSync(config, JSON.stringify({ clusteringPort: 18561, boxes: ['bench'], servers: { api: { host: '127.0.0.3', webPort: 18560, roles: ['api'], workers: 1 } } }));
  const child = spawn(process.execPath, [join(root, 'bin/boxwire.js'), 'start', '--config', config, '--server', 'api', '--boxes', join(root, 'test/fixtures/boxes')], {
    env: { ...process.env, BOXWIRE_LOG: 'info', BOXWIRE_API_CALLS_PER_SECOND: '1e9', BOXWIRE_API_BURST: '1e9' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(child, /server\.listening/);
  return child;
}

async function httpRate(host: string, path: string): Promise<number> {
  const result = await autocannon({ url: `http://${host}:18560${path}`, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: CONNECTIONS, duration: DURATION });
  if (result.non2xx || result.errors) throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return result.requests.average;
}

/** Requests per second over WS_CONNECTIONS sockets, each keeping WS_WINDOW calls in flight. */
async function wsRate(url: string, message: (id: number) => string): Promise<number> {
  const sockets = await Promise.all(Array.from({ length: WS_CONNECTIONS }, () => new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    socket.once('open', () => resolve(socket)).once('error', reject);
  })));
  let done = 0;
  let running = true;
  let failures = 0;
  for (const socket of sockets) {
    let id = 0;
    socket.on('message', (raw) => {
      if (JSON.parse(raw.toString()).error) failures++;
      done++;
      if (running) socket.send(message(++id));
    });
    for (let i = 0; i < WS_WINDOW; i++) socket.send(message(++id));
  }
  // Warm up for a second, then count.
  await new Promise((r) => setTimeout(r, 1000));
  const start = done;
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, DURATION * 1000));
  const rate = ((done - start) * 1000) / (performance.now() - t0);
  running = false;
  for (const socket of sockets) socket.close();
  if (failures) throw new Error(`${failures} error replies over WebSocket`);
  return rate;
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results = { bareHttp: [] as number[], boxHttp: [] as number[], bareWs: [] as number[], boxWs: [] as number[] };

for (let run = 0; run < RUNS; run++) {
  const bare = await startBare();
  try {
    await httpRate('127.0.0.2', '/'); // warm-up
    results.bareHttp.push(await httpRate('127.0.0.2', '/'));
    results.bareWs.push(await wsRate('ws://127.0.0.2:18560/', (id) => `{"id":${id},"data":${body}}`));
  } finally {
    await stop(bare);
  }
  const box = await startBoxwire();
  try {
    await httpRate('127.0.0.3', '/__API/bench/add');
    results.boxHttp.push(await httpRate('127.0.0.3', '/__API/bench/add'));
    results.boxWs.push(await wsRate('ws://127.0.0.3:18560/__API', (id) => `{"id":${id},"box":"bench","method":"add","data":${body}}`));
  } finally {
    await stop(box);
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const ratio = (a: number, b: number) => `${(a / b).toFixed(2)}× (target ≥ 0.8×)`;
const [bh, xh, bw, xw] = [median(results.bareHttp), median(results.boxHttp), median(results.bareWs), median(results.boxWs)];
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; one worker behind a node:cluster master each; ${DURATION} s per measurement, median of ${RUNS} runs`);
console.log(`| box method add({a,b}) | bare server | boxwire API role | ratio |`);
console.log('| --- | --- | --- | --- |');
console.log(`| HTTP POST, req/s (autocannon, ${CONNECTIONS} connections) | ${fmt(bh)} (node:http) | ${fmt(xh)} | ${ratio(xh, bh)} |`);
console.log(`| WebSocket JSON, calls/s (${WS_CONNECTIONS} sockets × ${WS_WINDOW} in flight) | ${fmt(bw)} (ws) | ${fmt(xw)} | ${ratio(xw, bw)} |`);
