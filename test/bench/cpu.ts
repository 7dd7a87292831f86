// CPU_CLUSTERING benchmark (issue 2): worker→worker throughput through the master and
// request/reply latency, each beside the raw node:cluster relay measured in the same run.
// Both sides run a warm-up round first (JIT; 20,000 untimed round trips before latency is timed)
// and alternate run by run; medians are reported.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';
import { hasTaskset, nodeCommand } from './_taskset.js';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

/**
 * Request/reply latency depends on where the scheduler puts the three processes (each wake-up on
 * another core costs an inter-processor interrupt); left alone, the placement differs from run to
 * run. So latency is measured twice: unpinned, and with the whole cluster pinned to one core with
 * taskset (deterministic: every hop a context switch). Throughput is taken from the unpinned runs.
 */
const canPin = hasTaskset();

interface Figures {
  throughput: number;
  p50: number;
  p99: number;
}

function measure(script: string, oneCore = false): Figures {
  const [command, argv] = nodeCommand(['--import', 'tsx', join(import.meta.dirname, script)], oneCore ? '0' : undefined);
  const out = execFileSync(command, argv, { encoding: 'utf8', env: { ...process.env, BOXWIRE_LOG: 'error' } });
  return JSON.parse(out.trim().split('\n').pop()!);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const results = { raw: [] as Figures[], box: [] as Figures[], rawOneCore: [] as Figures[], boxOneCore: [] as Figures[] };
for (let run = 0; run < RUNS; run++) {
  results.raw.push(measure('_cpu-raw.ts'));
  results.box.push(measure('_cpu-boxwire.ts'));
  if (!canPin) continue;
  results.rawOneCore.push(measure('_cpu-raw.ts', true));
  results.boxOneCore.push(measure('_cpu-boxwire.ts', true));
}
const pick = (figures: Figures[], field: keyof Figures) => median(figures.map((f) => f[field]));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rawTput = pick(results.raw, 'throughput');
const boxTput = pick(results.box, 'throughput');
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; median of ${RUNS} runs`);
console.log('| measurement | raw node:cluster relay | boxwire | ratio |');
console.log('| --- | --- | --- | --- |');
console.log(`| worker→worker one-way, msg/s | ${fmt(rawTput)} | ${fmt(boxTput)} | ${(boxTput / rawTput).toFixed(1)}× (target ≥ 10×) |`);
const latency = (placed: string, raw: Figures[], box: Figures[]) => {
  for (const field of ['p50', 'p99'] as const) {
    const [r, b] = [pick(raw, field), pick(box, field)];
    const target = field === 'p50' ? ' (target ≤ 1.2×)' : '';
    console.log(`| request/reply ${field}, ms, ${placed} | ${r.toFixed(3)} | ${b.toFixed(3)} | ${(b / r).toFixed(2)}×${target} |`);
  }
};
latency('unpinned', results.raw, results.box);
if (canPin) latency('one core', results.rawOneCore, results.boxOneCore);
