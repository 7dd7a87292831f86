// API role benchmark (issue 5): a box method called over HTTP (`POST /__API/bench/add`, driven
// by autocannon) and over WebSocket (a pipelining client), on a boxwire API server, beside bare
// node:http and bare `ws` servers doing the same work in the same run, in the same process
// layout (one worker behind a node:cluster master). Target: ≥ 0.8× the bare server's req/s.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';

const autocannon = createRequire(import.meta.url)('autocannon');
const root = join(import.meta.dirname, '..', '..');
const DURATION = Number(process.env.BENCH_SECONDS ?? 2);
const CONNECTIONS = 50;
const WS_CONNECTIONS = 20;
const WS_WINDOW = 20;
const SLICES = Number(process.env.BENCH_SLICES ?? 5);
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
  const child = spawn(process.execPath, [join(import.meta.dirname, '_http-bare.mjs')], { env: { ...process.env, BENCH_HOST: '127.0.0.2', BENCH_PORT: '18560' }, stdio: ['ignore', 'pipe', 'pipe'] });
  await waitForLine(child, /ready/);
  return child;
}

async function startBoxwire(): Promise<ChildProcess> {
  const dir = mkdtempSync(join(tmpdir(), 'boxwire-bench-'));
  const config = join(dir, 'cluster.json');
  writeFileSync(config, JSON.stringify({ clusteringPort: 18561, boxes: ['bench'], servers: { api: { host: '127.0.0.3', webPort: 18560, roles: ['api'], workers: 1 } } }));
  const child = spawn(process.execPath, [...boxwireCli, 'start', '--config', config, '--server', 'api', '--boxes', join(root, 'test/fixtures/boxes')], {
    env: { ...process.env, BOXWIRE_LOG: 'info', BOXWIRE_API_CALLS_PER_SECOND: '1e9', BOXWIRE_API_BURST: '1e9' }, stdio: ['ignore', 'pipe', 'pipe'],
  });
  await waitForLine(child, /server\.listening/);
  return child;
}

async function httpRate(host: string, path: string): Promise<{ rate: number; calls: number }> {
  const result = await autocannon({ url: `http://${host}:18560${path}`, method: 'POST', body, headers: { 'content-type': 'application/json' }, connections: CONNECTIONS, duration: DURATION });
  if (result.non2xx || result.errors) throw new Error(`${path}: ${result.non2xx} non-2xx, ${result.errors} errors`);
  return { rate: result.requests.average, calls: result.requests.total };
}

/** Requests per second over WS_CONNECTIONS sockets, each keeping WS_WINDOW calls in flight. */
async function wsRate(url: string, message: (id: number) => string): Promise<{ rate: number; calls: number }> {
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
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, DURATION * 1000));
  const rate = (done * 1000) / (performance.now() - t0);
  running = false;
  const calls = done;
  for (const socket of sockets) socket.close();
  if (failures) throw new Error(`${failures} error replies over WebSocket`);
  return { rate, calls };
}

/** CPU time (ms) used so far by a process and all its descendants, from /proc (Linux). */
function treeCpuMs(rootPid: number): number {
  const stats = readdirSync('/proc').filter((d) => /^\d+$/.test(d)).flatMap((d) => {
    try {
      const text = readFileSync(`/proc/${d}/stat`, 'utf8');
      const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
      return [{ pid: Number(d), ppid: Number(fields[1]), ticks: Number(fields[11]) + Number(fields[12]) }];
    } catch {
      return [];
    }
  });
  const inTree = new Set([rootPid]);
  for (let grew = true; grew;) {
    grew = false;
    for (const s of stats) if (!inTree.has(s.pid) && inTree.has(s.ppid)) (inTree.add(s.pid), (grew = true));
  }
  return stats.filter((s) => inTree.has(s.pid)).reduce((sum, s) => sum + s.ticks, 0) * 10; // USER_HZ = 100
}

/** Runs one measurement and also returns the server's CPU µs per call during it. */
async function withCpu(pid: number, run: () => Promise<{ rate: number; calls: number }>): Promise<{ rate: number; cpuUsPerCall: number }> {
  const before = treeCpuMs(pid);
  const { rate, calls } = await run();
  return { rate, cpuUsPerCall: ((treeCpuMs(pid) - before) * 1000) / calls };
}

/**
 * The server runs compiled (`npm run build`), as an installed package does: the TypeScript
 * loader used in a checkout adds per-closure overhead that is not boxwire's.
 */
const built = spawnSync('npm', ['run', 'build', '--silent'], { cwd: root, stdio: 'pipe' }).status === 0;
const boxwireCli = built ? [join(root, 'dist/src/boot/cli.js')] : [join(root, 'bin/boxwire.js')];
if (!built) console.log('note: npm run build failed; measuring the TypeScript sources through tsx instead');

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');

// Both servers run side by side and are measured in alternating short slices, so each pair of
// measurements sees the same machine (other work on it changes over seconds); the ratio is the
// median of the pairs' ratios.
const [bare, box] = await Promise.all([startBare(), startBoxwire()]);
type Sample = { rate: number; cpuUsPerCall: number };
const pairs = { http: [] as Array<[Sample, Sample]>, ws: [] as Array<[Sample, Sample]> };
const bareHttp = () => withCpu(bare.pid!, () => httpRate('127.0.0.2', '/'));
const boxHttp = () => withCpu(box.pid!, () => httpRate('127.0.0.3', '/__API/bench/add'));
const bareWs = () => withCpu(bare.pid!, () => wsRate('ws://127.0.0.2:18560/', (id) => `{"id":${id},"data":${body}}`));
const boxWs = () => withCpu(box.pid!, () => wsRate('ws://127.0.0.3:18560/__API', (id) => `{"id":${id},"box":"bench","method":"add","data":${body}}`));
try {
  await bareHttp();
  await boxHttp();
  for (let slice = 0; slice < SLICES; slice++) pairs.http.push([await bareHttp(), await boxHttp()]);
  for (let slice = 0; slice < SLICES; slice++) pairs.ws.push([await bareWs(), await boxWs()]);
} finally {
  await Promise.all([stop(bare), stop(box)]);
}

const row = (what: string, baseline: string, list: Array<[Sample, Sample]>) => {
  const rateRatio = median(list.map(([b, x]) => x.rate / b.rate));
  const cpuRatio = median(list.map(([b, x]) => b.cpuUsPerCall / x.cpuUsPerCall));
  const us = (n: number) => n.toFixed(0);
  return `| ${what} | ${fmt(median(list.map(([b]) => b.rate)))} / ${us(median(list.map(([b]) => b.cpuUsPerCall)))} µs (${baseline}) | ${fmt(median(list.map(([, x]) => x.rate)))} / ${us(median(list.map(([, x]) => x.cpuUsPerCall)))} µs | ${rateRatio.toFixed(2)}× | ${cpuRatio.toFixed(2)}× |`;
};
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; ${built ? 'compiled (dist)' : 'tsx'}; one worker behind a node:cluster master each; ${SLICES} alternating slices of ${DURATION} s, medians`);
console.log('The load generator shares the 2 cores with the server, so req/s partly measures the client; server CPU per call (master + workers, from /proc) is the capacity figure. Target ≥ 0.8×.');
console.log(`| box method add({a,b}) | bare: calls/s / server CPU per call | boxwire API role | req/s ratio | capacity ratio (bare CPU/call ÷ boxwire CPU/call) |`);
console.log('| --- | --- | --- | --- | --- |');
console.log(row(`HTTP POST (autocannon, ${CONNECTIONS} connections)`, 'node:http', pairs.http));
console.log(row(`WebSocket JSON (${WS_CONNECTIONS} sockets × ${WS_WINDOW} in flight)`, 'ws', pairs.ws));
