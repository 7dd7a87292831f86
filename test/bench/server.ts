// SERVER_CLUSTERING benchmark (issue 3): two processes on 127.0.0.2 / 127.0.0.3, each figure
// beside a baseline measured in the same run:
//   - one-way 64-byte messages vs raw `ws`, one message per ws.send (target ≥ 5×);
//   - request/reply with 100 in flight vs Moleculer 0.14 with its TCP transporter (target ≥ 10×);
//   - sequential request/reply p50 vs a raw `ws` echo (target ≤ 1.3×), each process pinned to
//     its own core (as on two machines), and again with both on one core.
import { spawn } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { freePort } from '../helpers/server-driver.js';
import { hasTaskset, nodeCommand } from './_taskset.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);
const peer = join(import.meta.dirname, '_server-peer.ts');

/**
 * Sequential latency depends on where the scheduler puts the two processes: a wake-up on the
 * same core costs a context switch, one on the other core an inter-processor interrupt (here
 * about 0.02 vs 0.06 ms a round trip). Left alone, Linux moves them between the two after a
 * while, so an unpinned run measures a mix that differs from run to run. The sequential modes
 * pin both processes with taskset: sender on core 0 and receiver on core 1, then both on core 0.
 */
const canPin = cpus().length >= 2 && hasTaskset();

type Placement = 'a core each' | 'one core' | 'unpinned';

/** One measurement: a peer mode, and for the sequential ones where the two processes run. */
interface Run {
  key: string;
  mode: string;
  placement?: Placement;
}

const placements: Placement[] = canPin ? ['a core each', 'one core'] : ['unpinned'];
const runs: Run[] = [
  ...['raw-oneway', 'box-oneway', 'mol-rr', 'box-rr'].map((mode) => ({ key: mode, mode })),
  ...placements.flatMap((placement) => ['raw-echo', 'box-seq'].map((mode) => ({ key: `${mode} ${placement}`, mode, placement }))),
];

function coreFor(placement: Placement | undefined, side: string): string | undefined {
  if (placement === 'a core each') return side === 'sender' ? '0' : '1';
  if (placement === 'one core') return '0';
  return undefined;
}

function start({ mode, placement }: Run, side: string, ports: number[]) {
  const core = coreFor(placement, side);
  const [command, argv] = nodeCommand(['--import', 'tsx', peer, mode, side, ...ports.map(String)], core);
  return spawn(command, argv, {
    env: { ...process.env, BOXWIRE_LOG: 'error' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
}

async function measure(run: Run): Promise<Record<string, number>> {
  const ports = [await freePort(['127.0.0.2', '127.0.0.3', '127.0.0.1']), await freePort(['127.0.0.1'])];
  const receiver = start(run, 'receiver', ports);
  await new Promise<void>((resolve, reject) => {
    receiver.stdout!.on('data', (chunk) => String(chunk).includes('READY') && resolve());
    receiver.once('exit', (code) => reject(new Error(`${run.key} receiver exited with ${code}`)));
  });
  const sender = start(run, 'sender', ports);
  let out = '';
  sender.stdout!.on('data', (chunk) => (out += chunk));
  const code = await new Promise<number | null>((resolve) => sender.once('exit', resolve));
  receiver.kill('SIGKILL');
  if (code !== 0) throw new Error(`${run.key} sender exited with ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const results: Record<string, Array<Record<string, number>>> = {};
for (let round = 0; round < RUNS; round++) {
  for (const run of runs) (results[run.key] ??= []).push(await measure(run));
}
const pick = (mode: string, field: string) => median(results[mode].map((r) => r[field]));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rawOne = pick('raw-oneway', 'perSecond');
const boxOne = pick('box-oneway', 'perSecond');
const molRr = pick('mol-rr', 'perSecond');
const boxRr = pick('box-rr', 'perSecond');
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; median of ${RUNS} runs; 64-byte payloads`);
console.log('| measurement | baseline | boxwire | ratio |');
console.log('| --- | --- | --- | --- |');
console.log(`| server→server one-way, msg/s | raw ws, one per send: ${fmt(rawOne)} | ${fmt(boxOne)} | ${(boxOne / rawOne).toFixed(1)}× (target ≥ 5×) |`);
console.log(`| request/reply, 100 in flight, req/s | Moleculer TCP: ${fmt(molRr)} | ${fmt(boxRr)} | ${(boxRr / molRr).toFixed(1)}× (target ≥ 10×) |`);
for (const placed of placements) {
  const raw = (field: string) => pick(`raw-echo ${placed}`, field);
  const box = (field: string) => pick(`box-seq ${placed}`, field);
  console.log(`| sequential request/reply p50, ms (${placed}) | raw ws echo: ${raw('p50').toFixed(3)} | ${box('p50').toFixed(3)} | ${(box('p50') / raw('p50')).toFixed(2)}× (target ≤ 1.3×) |`);
  console.log(`| sequential request/reply p99, ms (${placed}) | raw ws echo: ${raw('p99').toFixed(3)} | ${box('p99').toFixed(3)} | |`);
}
