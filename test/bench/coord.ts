// Coordination benchmark (issue 16): LOCK and QUEUE on one local redis-server, each beside a
// well-known library measured in the same run against the same server:
//   - lock acquire + release per second: boxwire LOCK vs `redlock` (v4, one Redis), uncontended
//     (one caller) and contended (4 concurrent callers on one lock name);
//   - queue: jobs pushed per second and jobs processed per second (concurrency 8, empty handler)
//     for boxwire QUEUE vs BullMQ;
//   - the embedded backend (no Redis, one process) for scale.
// Sizes: COORD_BENCH_SCALE (default 1; 0.2 for a quick check).
import { createRequire } from 'node:module';
import { Redis } from 'ioredis';
import { Queue as BullQueue, Worker as BullWorker } from 'bullmq';
import { RedisServer } from '../helpers/redis-server.js';
import { configureRedis } from '../../src/redis/redis-settings.js';
import { LOCK, QUEUE } from '../../src/index.js';
import { closeCoordination } from '../../src/coord/backend-choice.js';

const require = createRequire(import.meta.url);
const Redlock = require('redlock') as new (clients: unknown[], options: Record<string, number>) => { lock(resource: string, ttl: number): Promise<{ unlock(): Promise<void> }> };

const scale = Number(process.env.COORD_BENCH_SCALE ?? 1);
const LOCK_OPS = Math.round(4_000 * scale);
const JOBS = Math.round(10_000 * scale);
const CONTENDERS = 4;
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rows: string[][] = [];

async function rate(count: number, run: () => Promise<void>): Promise<number> {
  const started = process.hrtime.bigint();
  await run();
  return count / (Number(process.hrtime.bigint() - started) / 1e9);
}

/** `callers` loops sharing `total` lock round trips on one name. */
function lockLoops(total: number, callers: number, once: (name: string) => Promise<void>, name: string): Promise<void> {
  let left = total;
  return Promise.all(Array.from({ length: callers }, async () => {
    while (left-- > 0) await once(name);
  })).then(() => undefined);
}

async function benchLocks(redis: Redis): Promise<void> {
  const redlock = new Redlock([redis], { retryCount: 10_000, retryDelay: 5, retryJitter: 5 });
  const viaRedlock = async (name: string) => (await redlock.lock(name, 10_000)).unlock();
  const viaLock = (name: string) => LOCK(name, { ttlMs: 10_000, waitMs: 60_000 }, () => undefined);
  // Warm-up (scripts loaded, JIT) for both.
  await lockLoops(200, 1, viaLock, 'warm');
  await lockLoops(200, 1, viaRedlock, 'warm-redlock');
  for (const callers of [1, CONTENDERS]) {
    const ours = await rate(LOCK_OPS, () => lockLoops(LOCK_OPS, callers, viaLock, `bench-${callers}`));
    const theirs = await rate(LOCK_OPS, () => lockLoops(LOCK_OPS, callers, viaRedlock, `bench-redlock-${callers}`));
    rows.push([`lock acquire+release/s, ${callers} caller${callers > 1 ? 's (one name)' : ''}`, fmt(ours), `redlock ${fmt(theirs)}`, `${(ours / theirs).toFixed(2)}×`]);
  }
}

async function benchQueue(url: string): Promise<void> {
  const queue = QUEUE<number>('bench');
  const pushRate = await rate(JOBS, async () => {
    for (let i = 0; i < JOBS; i++) await queue.push(i);
  });
  let processed = 0;
  let finish!: () => void;
  const finished = new Promise<void>((resolve) => (finish = resolve));
  const started = process.hrtime.bigint();
  const stop = queue.process(() => {
    if (++processed === JOBS) finish();
  }, { concurrency: 8 });
  await finished;
  const processRate = JOBS / (Number(process.hrtime.bigint() - started) / 1e9);
  await stop();

  const connection = { host: new URL(url).hostname, port: Number(new URL(url).port), maxRetriesPerRequest: null };
  const bull = new BullQueue('bench', { connection });
  const bullPush = await rate(JOBS, async () => {
    for (let i = 0; i < JOBS; i++) await bull.add('job', i, { removeOnComplete: true, attempts: 3 });
  });
  let bullDone = 0;
  let bullFinish!: () => void;
  const bullFinished = new Promise<void>((resolve) => (bullFinish = resolve));
  const bullStarted = process.hrtime.bigint();
  const worker = new BullWorker('bench', async () => undefined, { connection, concurrency: 8 });
  worker.on('completed', () => ++bullDone === JOBS && bullFinish());
  await bullFinished;
  const bullProcess = JOBS / (Number(process.hrtime.bigint() - bullStarted) / 1e9);
  await worker.close();
  await bull.close();
  rows.push(['queue push/s (sequential awaits)', fmt(pushRate), `BullMQ ${fmt(bullPush)}`, `${(pushRate / bullPush).toFixed(2)}×`]);
  rows.push(['queue jobs processed/s (concurrency 8)', fmt(processRate), `BullMQ ${fmt(bullProcess)}`, `${(processRate / bullProcess).toFixed(2)}×`]);
}

async function benchEmbedded(): Promise<void> {
  const viaLock = (name: string) => LOCK(name, { ttlMs: 10_000 }, () => undefined);
  const ours = await rate(LOCK_OPS, () => lockLoops(LOCK_OPS, 1, viaLock, 'embedded'));
  rows.push(['embedded (no Redis, one process) lock/s', fmt(ours), '', '']);
}

const server = await new RedisServer().start();
try {
  // The embedded figures first, before Redis is configured in this process.
  await benchEmbedded();
  configureRedis(server.url);
  const redis = new Redis(server.url);
  await benchLocks(redis);
  await benchQueue(server.url);
  redis.disconnect();
  console.log(`coordination on one local redis-server (${LOCK_OPS} lock round trips, ${JOBS} jobs; machine shared, figures noisy)`);
  const widths = [0, 1, 2, 3].map((c) => Math.max(...rows.map((r) => (r[c] ?? '').length)));
  for (const r of rows) console.log(r.map((cell, c) => cell.padEnd(widths[c])).join('  '));
} finally {
  await closeCoordination();
  await server.dispose();
}
process.exit(0);
