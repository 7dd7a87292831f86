// boxwire: the same two measurements through CPU_CLUSTERING (worker 1 → master → worker 2).
import { CPU_CLUSTERING } from '../../src/index.js';

const N = Number(process.env.BENCH_MESSAGES ?? 200_000);
const RTT = Number(process.env.BENCH_ROUNDTRIPS ?? 5_000);
const CHUNK = 10_000;
/**
 * Untimed round trips first. V8 keeps compiling the request path for about a second (3,000 round
 * trips left multi-millisecond stalls in the timed ones: the p99, not the p50).
 */
const WARMUP = 20_000;
let startFlood: (() => void) | undefined;

CPU_CLUSTERING(
  {
    workers: 2,
    master() {
      let started = 0;
      let throughput = 0;
      let rounds = 0;
      CPU_CLUSTERING.on('flood-done', () => {
        // The first round warms the JIT up; the second is measured.
        if (++rounds === 1) return startFlood!();
        throughput = N / ((performance.now() - started) / 1000);
        CPU_CLUSTERING.send({ workerId: 1, methodName: 'rtt' });
      });
      CPU_CLUSTERING.on('rtt-done', ({ p50, p99 }: { p50: number; p99: number }) => {
        console.log(JSON.stringify({ throughput, p50, p99 }));
        process.kill(process.pid, 'SIGTERM');
      });
      startFlood = () => {
        started = performance.now();
        CPU_CLUSTERING.send({ workerId: 1, methodName: 'flood' });
      };
    },
  },
  () => {
    let seen = 0;
    CPU_CLUSTERING.on('seq', () => {
      if (++seen === N) {
        seen = 0;
        CPU_CLUSTERING.send({ workerId: 0, methodName: 'flood-done' });
      }
    });
    CPU_CLUSTERING.on('echo', (data) => data);
    CPU_CLUSTERING.on('flood', async () => {
      for (let n = 0; n < N; n++) {
        CPU_CLUSTERING.send({ workerId: 2, methodName: 'seq', data: { n, s: 'hello' } });
        if (n % CHUNK === CHUNK - 1) await new Promise((resolve) => setImmediate(resolve));
      }
    });
    CPU_CLUSTERING.on('rtt', async () => {
      const latencies: number[] = [];
      for (let n = 0; n < WARMUP + RTT; n++) {
        const t = performance.now();
        await CPU_CLUSTERING.request({ workerId: 2, methodName: 'echo', data: { n, s: 'hello' } });
        if (n >= WARMUP) latencies.push(performance.now() - t);
      }
      latencies.sort((x, y) => x - y);
      CPU_CLUSTERING.send({ workerId: 0, methodName: 'rtt-done', data: { p50: latencies[Math.floor(RTT * 0.5)], p99: latencies[Math.floor(RTT * 0.99)] } });
    });
  },
).then(() => startFlood?.());
