// CPU_CLUSTERING benchmark (issue 2): worker→worker throughput through the master and
// request/reply latency, each beside the raw node:cluster relay measured in the same run.
// Both sides run a warm-up round first (JIT; 3,000 untimed round trips before latency is timed)
// and alternate run by run; medians are reported.
import { execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { join } from 'node:path';

const RUNS = Number(process.env.BENCH_RUNS ?? 5);

function measure(script: string): { throughput: number; p50: number; p99: number } {
  const out = execFileSync(process.execPath, ['--import', 'tsx', join(import.meta.dirname, script)], { encoding: 'utf8', env: { ...process.env, BOXWIRE_LOG: 'error' } });
  return JSON.parse(out.trim().split('\n').pop()!);
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const raw: ReturnType<typeof measure>[] = [];
const box: ReturnType<typeof measure>[] = [];
for (let run = 0; run < RUNS; run++) {
  raw.push(measure('_cpu-raw.ts'));
  box.push(measure('_cpu-boxwire.ts'));
}
const rawTput = median(raw.map((r) => r.throughput));
const boxTput = median(box.map((r) => r.throughput));
const rawP50 = median(raw.map((r) => r.p50));
const boxP50 = median(box.map((r) => r.p50));
const rawP99 = median(raw.map((r) => r.p99));
const boxP99 = median(box.map((r) => r.p99));
const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
console.log(`machine: ${cpus().length} × ${cpus()[0]?.model ?? 'cpu'}, node ${process.version}; median of ${RUNS} runs`);
console.log('| measurement | raw node:cluster relay | boxwire | ratio |');
console.log('| --- | --- | --- | --- |');
console.log(`| worker→worker one-way, msg/s | ${fmt(rawTput)} | ${fmt(boxTput)} | ${(boxTput / rawTput).toFixed(1)}× (target ≥ 10×) |`);
console.log(`| request/reply p50, ms | ${rawP50.toFixed(3)} | ${boxP50.toFixed(3)} | ${(boxP50 / rawP50).toFixed(2)}× (target ≤ 1.2×) |`);
console.log(`| request/reply p99, ms | ${rawP99.toFixed(3)} | ${boxP99.toFixed(3)} | ${(boxP99 / rawP99).toFixed(2)}× |`);
