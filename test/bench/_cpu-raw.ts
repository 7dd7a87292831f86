// Baseline: the raw node:cluster relay. Worker → primary → worker with process.send, one object
// per send, default (JSON) serialization. Prints one JSON result line.
import cluster from 'node:cluster';

const N = Number(process.env.BENCH_MESSAGES ?? 200_000);
const RTT = Number(process.env.BENCH_ROUNDTRIPS ?? 5_000);
/**
 * Untimed round trips first. V8 keeps compiling the request path for about a second (3,000 round
 * trips left multi-millisecond stalls in the timed ones: the p99, not the p50).
 */
const WARMUP = 20_000;

if (cluster.isPrimary) {
  const a = cluster.fork({ ROLE: 'a' });
  const b = cluster.fork({ ROLE: 'b' });
  let ready = 0;
  let started = 0;
  let rounds = 0;
  const results: Record<string, unknown> = {};
  const onReady = () => {
    if (++ready === 2) {
      started = performance.now();
      a.send({ cmd: 'flood' });
    }
  };
  a.on('message', (m: any) => {
    if (m.cmd === 'ready') onReady();
    else if (m.cmd === 'msg' || m.cmd === 'req') b.send(m);
    else if (m.cmd === 'rtt-done') {
      results.rtt = m.latencies;
      console.log(JSON.stringify({ throughput: results.throughput, p50: m.p50, p99: m.p99 }));
      a.kill();
      b.kill();
    }
  });
  b.on('message', (m: any) => {
    if (m.cmd === 'ready') onReady();
    else if (m.cmd === 'res') a.send(m);
    else if (m.cmd === 'flood-done') {
      // The first round warms the JIT up; the second is measured.
      if (++rounds === 1) {
        started = performance.now();
        return a.send({ cmd: 'flood' });
      }
      results.throughput = N / ((performance.now() - started) / 1000);
      a.send({ cmd: 'rtt' });
    }
  });
} else if (process.env.ROLE === 'a') {
  const waiting = new Map<number, () => void>();
  process.on('message', async (m: any) => {
    if (m.cmd === 'flood') {
      for (let n = 0; n < N; n++) process.send!({ cmd: 'msg', methodName: 'seq', data: { n, s: 'hello' } });
    } else if (m.cmd === 'res') {
      waiting.get(m.id)?.();
    } else if (m.cmd === 'rtt') {
      const latencies: number[] = [];
      for (let id = 0; id < WARMUP + RTT; id++) {
        const t = performance.now();
        await new Promise<void>((resolve) => {
          waiting.set(id, resolve);
          process.send!({ cmd: 'req', id, methodName: 'echo', data: { n: id, s: 'hello' } });
        });
        waiting.delete(id);
        if (id >= WARMUP) latencies.push(performance.now() - t);
      }
      latencies.sort((x, y) => x - y);
      process.send!({ cmd: 'rtt-done', p50: latencies[Math.floor(RTT * 0.5)], p99: latencies[Math.floor(RTT * 0.99)] });
    }
  });
  process.send!({ cmd: 'ready' });
} else {
  let seen = 0;
  process.on('message', (m: any) => {
    if (m.cmd === 'msg' && ++seen === N) {
      seen = 0;
      process.send!({ cmd: 'flood-done' });
    }
    else if (m.cmd === 'req') process.send!({ cmd: 'res', id: m.id, data: m.data });
  });
  process.send!({ cmd: 'ready' });
}
