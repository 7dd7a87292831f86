// Scale benchmark (issue 21): N = 2, 3, 4, 6 servers, one process each on 127.0.0.2…, every
// server active at once, for three workloads:
//   - broadcast: each server broadcasts BENCH_SCALE_MESSAGES small messages to every other server;
//   - hot id:    each server makes BENCH_SCALE_WRITES `$inc` on ONE shared id, 100 in flight;
//   - per-server ids: the same, each server on its own id.
// Reported per run: wall throughput (originated operations per second), CPU per delivered message
// / per applied write (all processes' CPU over N × N × writes applications, folding included),
// the ratio of that CPU figure to N=2's (the baseline measured in the same run: flat = linear total
// work), the longest event-loop stall of any server (and the longest one it spent busy: on a shared
// machine a process that is not scheduled stalls too), how often a server declared a peer down, and
// whether the totals came out exact. Each workload runs once untimed (a tenth of the size) first.
//   BENCH_SCALE_NS=2,3,4,6  BENCH_SCALE_WRITES=10000  BENCH_SCALE_MESSAGES=200000  BENCH_SCALE_KINDS=broadcast,hot,per-server
import { CommandFixture } from '../helpers/process-harness.js';
import { freePort, loopbackHosts } from '../helpers/server-driver.js';

type Kind = 'broadcast' | 'hot' | 'per-server';
const NS = (process.env.BENCH_SCALE_NS ?? '2,3,4,6').split(',').map(Number);
const WRITES = Number(process.env.BENCH_SCALE_WRITES ?? 10_000);
const MESSAGES = Number(process.env.BENCH_SCALE_MESSAGES ?? 200_000);
const IN_FLIGHT = 100;
const KINDS = (process.env.BENCH_SCALE_KINDS ?? 'broadcast,hot,per-server').split(',') as Kind[];

interface NodeResult {
  cpuUs: number;
  startedAt: number;
  endedAt: number;
  maxStallMs: number;
  maxBusyStallMs: number;
  downs: number;
  values?: Record<string, number>;
}

interface Measured {
  kind: Kind;
  n: number;
  perSecond: number;
  cpuPerApplyUs: number;
  cpuPerOriginatedUs: number;
  maxStallMs: number;
  maxBusyStallMs: number;
  downs: number;
  /** Broadcasts that never arrived (a link that dropped loses what it carried). */
  lost: number;
  exact: boolean;
}

class ScaleNode extends CommandFixture {
  constructor(readonly name: string, hosts: Record<string, string>, port: number) {
    super('test/bench/_scale-node.ts', [], { SCALE_SERVER: name, SCALE_HOSTS: JSON.stringify(hosts), SCALE_PORT: String(port), BOXWIRE_LOG: process.env.BENCH_SCALE_LOG ?? 'error' }, 600_000);
  }

  async value(command: Record<string, unknown>): Promise<any> {
    const result = await this.run(command);
    if (!result.ok) throw new Error(`${this.name} ${JSON.stringify(command)}: ${result.error}`);
    return result.value;
  }
}

let runNumber = 0;

async function measure(nodes: ScaleNode[], kind: Kind, count: number): Promise<Measured> {
  const n = nodes.length;
  const store = `scale.${kind}.${++runNumber}`;
  const hotId = 'counter';
  const expect: Record<string, number> = {};
  if (kind === 'hot') expect[hotId] = count * n;
  if (kind === 'per-server') for (const node of nodes) expect[node.name] = count;
  if (kind !== 'broadcast') {
    await Promise.all(nodes.map((node, i) => node.value({ op: 'setup', store, expect, ids: kind === 'hot' ? (i === 0 ? [hotId] : []) : [node.name] })));
  }
  const results: NodeResult[] = await Promise.all(nodes.map((node) => node.value({ op: 'run', kind, store, count, inFlight: IN_FLIGHT, ids: [hotId], expect })));
  const wallMs = Math.max(...results.map((r) => r.endedAt)) - Math.min(...results.map((r) => r.startedAt));
  const cpuUs = results.reduce((sum, r) => sum + r.cpuUs, 0);
  const originated = count * n;
  const delivered = results.reduce((sum, r) => sum + (r.values?.received ?? 0), 0);
  const applied = kind === 'broadcast' ? delivered : count * n * n;
  const lost = kind === 'broadcast' ? count * n * (n - 1) - delivered : 0;
  const exact = kind === 'broadcast' ? lost === 0 : results.every((r) => Object.entries(expect).every(([id, value]) => r.values?.[id] === value));
  return {
    kind,
    n,
    perSecond: originated / (wallMs / 1000),
    cpuPerApplyUs: cpuUs / applied,
    cpuPerOriginatedUs: cpuUs / originated,
    maxStallMs: Math.max(...results.map((r) => r.maxStallMs)),
    maxBusyStallMs: Math.max(...results.map((r) => r.maxBusyStallMs)),
    downs: results.reduce((sum, r) => sum + r.downs, 0),
    lost,
    exact,
  };
}

async function withCluster<T>(n: number, body: (nodes: ScaleNode[]) => Promise<T>): Promise<T> {
  const names = Array.from({ length: n }, (_, i) => String.fromCharCode(65 + i));
  const hosts = loopbackHosts(names);
  const port = await freePort(Object.values(hosts));
  const nodes = names.map((name) => new ScaleNode(name, hosts, port));
  try {
    await Promise.all(nodes.map((node) => node.waitForEvent('ready', 1, 60_000)));
    await Promise.all(nodes.map((node) => node.value({ op: 'mesh' })));
    return await body(nodes);
  } finally {
    await Promise.all(nodes.map((node) => node.stop()));
  }
}

const sizeOf = (kind: Kind) => (kind === 'broadcast' ? MESSAGES : WRITES);
const measured: Measured[] = [];
for (const n of NS) {
  await withCluster(n, async (nodes) => {
    for (const kind of KINDS) {
      await measure(nodes, kind, Math.max(1, Math.round(sizeOf(kind) / 10)));
      const result = await measure(nodes, kind, sizeOf(kind));
      measured.push(result);
      console.log(`  N=${n} ${kind}: ${Math.round(result.perSecond)} ops/s, ${result.cpuPerApplyUs.toFixed(2)} µs CPU per ${kind === 'broadcast' ? 'delivery' : 'apply'}, stall ${Math.round(result.maxStallMs)} ms (busy ${Math.round(result.maxBusyStallMs)} ms), ${result.downs} down, ${result.exact ? 'exact' : kind === 'broadcast' ? `${result.lost} lost` : 'NOT EXACT'}`);
    }
  });
}

const pad = (text: string, width: number) => text.padStart(width);
console.log(`\nScale: ${WRITES.toLocaleString('en-US')} writes / ${MESSAGES.toLocaleString('en-US')} messages per server, ${IN_FLIGHT} writes in flight per server; ratio = CPU per operation against N=2 in this run`);
console.log(['workload', 'N', 'wall ops/s', 'CPU µs/op', 'ratio', 'CPU µs/originated', 'max stall ms', 'busy stall ms', 'downs', 'totals'].map((h, i) => (i === 0 ? h.padEnd(11) : pad(h, i === 5 ? 19 : i === 7 ? 14 : 13))).join(''));
for (const kind of KINDS) {
  const base = measured.find((m) => m.kind === kind && m.n === NS[0]);
  for (const m of measured.filter((x) => x.kind === kind)) {
    const ratio = base ? m.cpuPerApplyUs / base.cpuPerApplyUs : NaN;
    console.log([kind.padEnd(11), pad(String(m.n), 13), pad(Math.round(m.perSecond).toLocaleString('en-US'), 13), pad(m.cpuPerApplyUs.toFixed(2), 13), pad(`${ratio.toFixed(2)}×`, 13), pad(m.cpuPerOriginatedUs.toFixed(1), 19), pad(Math.round(m.maxStallMs).toString(), 13), pad(Math.round(m.maxBusyStallMs).toString(), 14), pad(String(m.downs), 13), pad(m.kind === 'broadcast' ? (m.lost ? `${m.lost} lost` : 'all') : m.exact ? 'exact' : 'WRONG', 13)].join(''));
  }
}
const wrong = measured.filter((m) => !m.exact && m.kind !== 'broadcast');
if (wrong.length) {
  console.error(`totals wrong in ${wrong.map((m) => `${m.kind} N=${m.n}`).join(', ')}`);
  process.exitCode = 1;
}
