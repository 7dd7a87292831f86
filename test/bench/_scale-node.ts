// One server of the scale benchmark (see scale.ts): SERVER_CLUSTERING on its own loopback address,
// driven by JSON commands on stdin (test/fixtures/report.ts protocol). Each measured run reports
// this process's CPU time, its longest event-loop stall and how many times it declared a peer down.
//   SCALE_SERVER, SCALE_HOSTS (JSON), SCALE_PORT; BENCH_SCALE_PROFILE=dir writes a CPU profile of each run there
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { SERVER_CLUSTERING, SHARED_STORE } from '../../src/index.js';
import { replicaHost } from '../../src/store/store-node.js';
import { onCommand, report } from '../fixtures/report.js';

const name = process.env.SCALE_SERVER!;
const hosts = JSON.parse(process.env.SCALE_HOSTS!) as Record<string, string>;
const peers = Object.keys(hosts).length - 1;
/** Broadcasts received, per run (a run's messages can arrive before this server starts it). */
const received = new Map<string, number>();
let downs = 0;

interface Command {
  id: number;
  op: 'mesh' | 'setup' | 'run';
  kind?: 'broadcast' | 'hot' | 'per-server';
  store?: string;
  /** Ids this server creates (setup) / every id and the value each must reach (run). */
  ids?: string[];
  expect?: Record<string, number>;
  count?: number;
  inFlight?: number;
}

const until = async (check: () => boolean, what: string, timeoutMs = Number(process.env.BENCH_SCALE_TIMEOUT_MS ?? 300_000)) => {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${name}: gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
};

async function run(command: Command): Promise<unknown> {
  switch (command.op) {
    case 'mesh':
      await until(() => SERVER_CLUSTERING.getConnectedServerNames().length === peers, 'the full mesh', 30_000);
      return peers;
    case 'setup': {
      const store = SHARED_STORE(command.store!);
      await store.ready();
      for (const id of command.ids!) await store.save({ id, data: { n: 0 } });
      await until(() => Object.keys(command.expect!).every((id) => store.peek(id) !== undefined), 'the counters to exist');
      return 'ready';
    }
    case 'run':
      return measure(command);
  }
}

/**
 * The longest gaps between turns of a 10 ms timer: wall time, and the CPU this process used in the
 * longest gap — on a shared machine a process that is not scheduled also shows a gap; one that was
 * busy all along used about as much CPU as the gap lasted.
 */
function watchStalls(): { stop(): { maxStallMs: number; maxBusyStallMs: number } } {
  let last = performance.now();
  let lastCpu = process.cpuUsage();
  let maxStallMs = 0;
  let maxBusyStallMs = 0;
  const timer = setInterval(() => {
    const now = performance.now();
    const cpu = process.cpuUsage();
    const gap = now - last - 10;
    const busy = Math.min(gap, (cpu.user + cpu.system - lastCpu.user - lastCpu.system) / 1000 - 10);
    if (gap > maxStallMs) maxStallMs = gap;
    if (busy > maxBusyStallMs) maxBusyStallMs = busy;
    last = now;
    lastCpu = cpu;
  }, 10);
  return {
    stop() {
      clearInterval(timer);
      return { maxStallMs, maxBusyStallMs };
    },
  };
}

/** Runs `body` under the V8 CPU profiler when BENCH_SCALE_PROFILE names a directory. */
async function profiled<T>(label: string, body: () => Promise<T>): Promise<T> {
  const dir = process.env.BENCH_SCALE_PROFILE;
  if (!dir) return body();
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  try {
    return await body();
  } finally {
    const { profile } = await session.post('Profiler.stop');
    writeFileSync(`${dir}/${label}-${name}.cpuprofile`, JSON.stringify(profile));
    session.disconnect();
  }
}

async function measure(command: Command): Promise<unknown> {
  return profiled(command.store!, () => measureRun(command));
}

async function measureRun(command: Command): Promise<unknown> {
  const stalls = monitorEventLoopDelay({ resolution: 10 });
  const watch = watchStalls();
  const downsBefore = downs;
  const store = command.kind === 'broadcast' ? undefined : SHARED_STORE<{ n: number }>(command.store!);
  stalls.enable();
  const cpu = process.cpuUsage();
  const startedAt = performance.timeOrigin + performance.now();
  const count = command.count!;
  if (command.kind === 'broadcast') {
    for (let i = 0; i < count; i++) {
      SERVER_CLUSTERING.broadcast({ methodName: 'scale.msg', data: command.store });
      // Yield now and then so the links flush and heartbeats go out, as an app's loop would.
      if (i % 1000 === 999) await new Promise((resolve) => setImmediate(resolve));
    }
    // Broadcasts are fire-and-forget: a link that drops loses what it carried. Stop waiting once
    // nothing more has arrived for 10 s, and report how many did.
    let last = -1;
    let lastChange = Date.now();
    await until(() => {
      const now = received.get(command.store!) ?? 0;
      if (now !== last) {
        last = now;
        lastChange = Date.now();
      }
      return now >= count * peers || Date.now() - lastChange > 10_000;
    }, 'every broadcast');
  } else {
    const id = command.kind === 'hot' ? command.ids![0] : name;
    let next = 0;
    const lane = async () => {
      while (next < count) {
        next++;
        await store!.update({ id, data: { $inc: { n: 1 } } });
      }
    };
    await Promise.all(Array.from({ length: command.inFlight! }, lane));
    await until(() => Object.entries(command.expect!).every(([key, n]) => (store!.peek(key)?.n ?? -1) >= n), 'every write');
  }
  const endedAt = performance.timeOrigin + performance.now();
  // CPU until the log has folded, so the cost of stabilising the writes is counted too.
  await until(() => replicaHost().replica.pendingOperations === 0, 'the log to fold');
  const used = process.cpuUsage(cpu);
  stalls.disable();
  const { maxBusyStallMs } = watch.stop();
  const values = store ? Object.fromEntries(Object.keys(command.expect!).map((key) => [key, store.peek(key)?.n])) : { received: received.get(command.store!) ?? 0 };
  return { cpuUs: used.user + used.system, startedAt, endedAt, maxStallMs: stalls.max / 1e6, maxBusyStallMs, downs: downs - downsBefore, values };
}

onCommand(async (line) => {
  const command = JSON.parse(line) as Command;
  try {
    report('result', { id: command.id, ok: true, value: await run(command) });
  } catch (error) {
    report('result', { id: command.id, ok: false, error: String((error as Error)?.stack ?? error) });
  }
});

SERVER_CLUSTERING({ hosts, thisServerName: name, port: Number(process.env.SCALE_PORT) }, () => {
  SERVER_CLUSTERING.on('scale.msg', (run: string) => {
    received.set(run, (received.get(run) ?? 0) + 1);
  });
}).then(() => {
  SERVER_CLUSTERING.onServerDown(() => downs++);
  report('ready', { server: name });
}, (error) => {
  console.error(error);
  process.exit(1);
});
