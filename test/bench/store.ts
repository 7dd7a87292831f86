// SHARED_STORE benchmark (issue 4), each figure beside a baseline measured in the same run:
//   - get from a worker's read replica vs a plain Map.get and vs sequential ioredis GET on a local
//     redis-server (started here on an unusual port, stopped by pid);
//   - replicated save / $inc throughput, 2 workers with 100 writes in flight each, on one server
//     (CPU clustering) and on 3 servers × 2 workers, vs ioredis pipelined SET: each after one
//     warm-up run, the median of 3 timed runs (the cold first run is shown beside it);
//   - convergence time after a partition {A} | {B, C} heals, with writes made on both sides;
//   - the Redis engine (on the same redis-server as the baseline): get / peek from a worker, and
//     $inc / save with 2 workers × 100 in flight, beside the same ioredis baselines.
// STORE_BENCH_WRITES scales the throughput runs (default 200,000); STORE_BENCH_ONLY=redis runs
// only the baselines and the Redis engine rows.
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { Redis } from 'ioredis';
import { freeTcpPort } from '../helpers/redis-server.js';
import { startStoreCluster } from '../helpers/store-cluster.js';

/** Writes per throughput measurement, the same for boxwire and the Redis baseline. */
const WRITES = Number(process.env.STORE_BENCH_WRITES ?? 200_000);
const ONLY_REDIS = process.env.STORE_BENCH_ONLY === 'redis';
interface WriterRun {
  count: number;
  startedAt: number;
  endedAt: number;
}

/**
 * Throughput runs: one untimed warm-up run, then this many timed runs; the median is reported (and
 * the cold first run beside it). The same for boxwire and for the Redis baseline.
 */
const TIMED_RUNS = 3;

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

/** The cold (first) run's rate and the median of the timed runs after it. */
async function warmAndTime(run: () => Promise<number>): Promise<{ cold: number; warm: number }> {
  const cold = await run();
  const timed: number[] = [];
  for (let i = 0; i < TIMED_RUNS; i++) timed.push(await run());
  return { cold, warm: median(timed) };
}

/** Writes per second of writers running together: all their writes over the time from the first start to the last end. */
function overallRate(runs: WriterRun[]): number {
  const total = runs.reduce((sum, run) => sum + run.count, 0);
  const ms = Math.max(...runs.map((r) => r.endedAt)) - Math.min(...runs.map((r) => r.startedAt));
  return total / (ms / 1000);
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rows: string[][] = [];
const row = (...cells: string[]) => rows.push(cells);

async function startRedis(): Promise<{ port: number; stop: () => Promise<void> }> {
  const port = await freeTcpPort(); // a random port may be taken (redis-server then exits at start)
  const child = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk) => String(chunk).includes('Ready to accept connections') && resolve());
    child.once('exit', (code) => reject(new Error(`redis-server exited with ${code}`)));
  });
  return {
    port,
    stop: () => new Promise<void>((resolve) => {
      child.once('exit', () => resolve());
      process.kill(child.pid!, 'SIGTERM');
    }),
  };
}

function mapGetRate(n: number): { plain: number; awaited: Promise<number> } {
  const map = new Map<string, unknown>([['bench', { name: 'ann', n: 1, tags: ['a', 'b'] }]]);
  let sink = 0;
  let started = process.hrtime.bigint();
  for (let i = 0; i < n; i++) if (map.get('bench')) sink++;
  const plain = n / (Number(process.hrtime.bigint() - started) / 1e9);
  const awaited = (async () => {
    started = process.hrtime.bigint();
    for (let i = 0; i < n; i++) if (await map.get('bench')) sink++;
    return n / (Number(process.hrtime.bigint() - started) / 1e9) + sink * 0;
  })();
  return { plain, awaited };
}

const redis = await startRedis();
try {
  const client = new Redis({ port: redis.port, host: '127.0.0.1', lazyConnect: true });
  await client.connect();
  await client.set('bench', JSON.stringify({ name: 'ann', n: 1, tags: ['a', 'b'] }));
  const gets = 20_000;
  let started = process.hrtime.bigint();
  for (let i = 0; i < gets; i++) await client.get('bench');
  const redisGet = gets / (Number(process.hrtime.bigint() - started) / 1e9);
  const redisSets = await warmAndTime(async () => {
    const begun = process.hrtime.bigint();
    for (let done = 0; done < WRITES; done += 1000) {
      const pipeline = client.pipeline();
      for (let i = 0; i < 1000; i++) pipeline.set(`k${(done + i) % 1000}`, JSON.stringify({ i: done + i, name: 'value' }));
      await pipeline.exec();
    }
    return WRITES / (Number(process.hrtime.bigint() - begun) / 1e9);
  });
  const redisSet = redisSets.warm;
  client.disconnect();

  const map = mapGetRate(5_000_000);
  const mapAwaited = await map.awaited;

  // The Redis engine: one server, CPU clustering, 2 workers, on the baseline's redis-server.
  const onRedis = await startStoreCluster('cpu', { common: { BOXWIRE_STORE_ENGINE: 'redis', BOXWIRE_REDIS_URL: `redis://127.0.0.1:${redis.port}` } });
  let redisEngineGet = 0;
  let redisEnginePeek = 0;
  let redisEngineInc = { cold: 0, warm: 0 };
  let redisEngineSave = { cold: 0, warm: 0 };
  try {
    redisEngineGet = await onRedis.nodes[0].value({ from: 1, op: 'benchGet', store: 'bench.rget', count: 1_000_000 }, 120_000);
    redisEnginePeek = await onRedis.nodes[0].value({ from: 1, op: 'benchPeek', store: 'bench.rget', count: 20_000_000 }, 120_000);
    const write = (method: string) => warmAndTime(async () => overallRate(await Promise.all([1, 2].map((from) => onRedis.nodes[0].value({ from, op: 'benchWrite', store: 'bench.rw', method, count: WRITES / 2, ms: 100 }, 300_000)))));
    redisEngineInc = await write('inc');
    redisEngineSave = await write('save');
  } finally {
    await onRedis.stop();
  }

  // One server, CPU clustering, 2 workers.
  let workerGet = 0;
  let workerPeek = 0;
  let cpuInc = { cold: 0, warm: 0 };
  let cpuSave = { cold: 0, warm: 0 };
  const cpu = ONLY_REDIS ? undefined : await startStoreCluster('cpu');
  if (cpu) try {
    workerGet = await cpu.nodes[0].value({ from: 1, op: 'benchGet', store: 'bench.get', count: 1_000_000 }, 120_000);
    workerPeek = await cpu.nodes[0].value({ from: 1, op: 'benchPeek', store: 'bench.get', count: 20_000_000 }, 120_000);
    // 200,000 writes in all, as many as the pipelined SET baseline makes.
    const write = (method: string) => warmAndTime(async () => overallRate(await Promise.all([1, 2].map((from) => cpu.nodes[0].value({ from, op: 'benchWrite', store: 'bench.w', method, count: WRITES / 2, ms: 100 }, 300_000)))));
    cpuInc = await write('inc');
    cpuSave = await write('save');
  } finally {
    await cpu.stop();
  }

  // Three servers × 2 workers: every write replicated to every server.
  let bothInc = { cold: 0, warm: 0 };
  let bothSave = { cold: 0, warm: 0 };
  const both = ONLY_REDIS ? undefined : await startStoreCluster('both');
  if (both) try {
    const write = (method: string) => warmAndTime(async () => overallRate(await Promise.all(both.processes.map(([node, from]) => node.value({ from, op: 'benchWrite', store: 'bench.w3', method, count: Math.round(WRITES / 6), ms: 100 }, 300_000)))));
    bothInc = await write('inc');
    bothSave = await write('save');
  } finally {
    await both.stop();
  }

  // Convergence after a partition heals: 1,000 writes on each side while cut.
  const convergence: number[] = [];
  const part = ONLY_REDIS ? undefined : await startStoreCluster('server', { partitionable: true });
  if (part) try {
    const [A, B, C] = part.nodes;
    await A.waitFor((e) => e.event === 'server-up', 2);
    for (let round = 0; round < 3; round++) {
      const store = `bench.p${round}`;
      for (const proxy of part.proxies) proxy.cut('reset');
      await A.waitFor((e) => e.event === 'server-down', 2 * (round + 1), 15_000);
      await Promise.all([A.value({ from: 0, op: 'benchWrite', store, method: 'inc', count: 1000, ms: 50 }), B.value({ from: 0, op: 'benchWrite', store, method: 'save', count: 500, ms: 50 }), C.value({ from: 0, op: 'benchWrite', store, method: 'inc', count: 500, ms: 50 })]);
      // Each server's own keys (prefixed with its name), as its own replica holds them.
      const dumps = await Promise.all(part.nodes.map((node) => node.value({ from: 0, op: 'dump', store })));
      const merged = Object.assign({}, ...dumps.map((dump, i) => Object.fromEntries(Object.entries(dump).filter(([id]) => id.startsWith(`${part.nodes[i].name}-`)))));
      for (const proxy of part.proxies) proxy.heal();
      const healedAt = Date.now();
      const outcomes = await Promise.all(part.nodes.map((node) => node.value({ from: 0, op: 'until', store, expect: merged, timeoutMs: 10_000 })));
      if (!outcomes.every((o) => o.equal)) throw new Error(`round ${round}: replicas did not converge`);
      convergence.push(Date.now() - healedAt);
      await A.waitFor((e) => e.event === 'server-up', 2 * (round + 2), 15_000);
    }
  } finally {
    await part.stop();
  }

  console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}`);
  row('measurement', 'boxwire', 'baseline', 'ratio');
  row('get from a worker, ops/s (sequential await)', fmt(workerGet), `ioredis GET ${fmt(redisGet)}`, `${(workerGet / redisGet).toFixed(0)}× (target ≥ 100×)`);
  row('peek from a worker (sync, frozen, no copy) vs Map.get, ops/s', fmt(workerPeek), `Map.get ${fmt(map.plain)}`, `${(map.plain / workerPeek).toFixed(1)}× slower (target ≤ 5×)`);
  row('get from a worker (Promise, a copy) vs Map.get, ops/s', fmt(workerGet), `Map.get ${fmt(map.plain)}`, `${(map.plain / workerGet).toFixed(1)}× slower`);
  row('get from a worker vs awaited Map.get, ops/s', fmt(workerGet), `await Map.get ${fmt(mapAwaited)}`, `${(mapAwaited / workerGet).toFixed(1)}× slower`);
  const writes = (label: string, rate: { cold: number; warm: number }, target: number) =>
    row(
      `${label}, ops/s: median of ${TIMED_RUNS} after a warm-up (cold first run)`,
      `${fmt(rate.warm)} (${fmt(rate.cold)})`,
      `ioredis pipelined SET ${fmt(redisSet)} (${fmt(redisSets.cold)})`,
      `${(rate.warm / redisSet).toFixed(2)}× (cold ${(rate.cold / redisSets.cold).toFixed(2)}×; target ≥ ${target}×)`,
    );
  writes('$inc, 1 server, 2 workers × 100 in flight (all writes / first start → last end)', cpuInc, 1);
  writes('save, 1 server, 2 workers × 100 in flight', cpuSave, 1);
  writes('$inc, 3 servers, each of the 6 workers × 100 in flight', bothInc, 0.3);
  writes('save, 3 servers, each of the 6 workers × 100 in flight', bothSave, 0.3);
  row('convergence after a partition heals, ms (3 rounds)', convergence.join(', '), '—', `max ${Math.max(...convergence)} ms (target < 1000)`);
  row('Redis engine: get from a worker, ops/s (sequential await)', fmt(redisEngineGet), `ioredis GET ${fmt(redisGet)}`, `${(redisEngineGet / redisGet).toFixed(0)}× (target ≥ 100×)`);
  row('Redis engine: peek from a worker (sync), ops/s', fmt(redisEnginePeek), `ioredis GET ${fmt(redisGet)}`, `${(redisEnginePeek / redisGet).toFixed(0)}× (Map.get ${fmt(map.plain)})`);
  writes('Redis engine: $inc, 1 server, 2 workers × 100 in flight', redisEngineInc, 0.5);
  writes('Redis engine: save, 1 server, 2 workers × 100 in flight', redisEngineSave, 0.5);
  const [head, ...body] = rows;
  console.log(`| ${head.join(' | ')} |`);
  console.log(`| ${head.map(() => '---').join(' | ')} |`);
  for (const r of body) console.log(`| ${r.join(' | ')} |`);
} finally {
  await redis.stop();
}
