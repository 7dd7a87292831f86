// One side of a server benchmark (see server.ts): `node _server-peer.ts <mode> <side> <port> <port2>`.
// The sending side prints one JSON line with its measurement.
import WebSocket, { WebSocketServer } from 'ws';

const [mode, side, portText, port2Text] = process.argv.slice(2);
const port = Number(portText);
const port2 = Number(port2Text);
const N = Number(process.env.BENCH_MESSAGES ?? 500_000);
const RR_MS = Number(process.env.BENCH_RR_MS ?? 3000);
const SEQ = Number(process.env.BENCH_SEQ ?? 10_000);
/** Round trips before timing starts: JIT-compiling boxwire's path takes about 2,000 of them. */
const SEQ_WARMUP = Number(process.env.BENCH_SEQ_WARMUP ?? 3000);
const payload = Buffer.alloc(64, 7);
const hosts = { A: '127.0.0.2', B: '127.0.0.3' };
const print = (value: unknown) => console.log(JSON.stringify(value));
const ready = () => console.log('READY');
process.on('SIGINT', () => process.exit(0)); // lets --cpu-prof write its profile

async function rawReceiver(echo: boolean): Promise<void> {
  const wss = new WebSocketServer({ host: '127.0.0.3', port, perMessageDeflate: false });
  wss.on('connection', (socket) => {
    let count = 0;
    socket.on('message', (data) => {
      if (echo) return socket.send(data);
      if (++count === N) socket.send('done');
    });
  });
  wss.on('listening', ready);
}

function rawConnect(): Promise<WebSocket> {
  const socket = new WebSocket(`ws://127.0.0.3:${port}`, { perMessageDeflate: false, localAddress: '127.0.0.2' });
  return new Promise((resolve) => socket.once('open', () => resolve(socket)));
}

async function rawSender(): Promise<void> {
  const socket = await rawConnect();
  const started = performance.now();
  const done = new Promise<void>((resolve) => socket.once('message', () => resolve()));
  let sent = 0;
  const pump = () => {
    while (sent < N) {
      socket.send(payload);
      sent++;
      if (socket.bufferedAmount > 8 << 20) return void setTimeout(pump, 1);
    }
  };
  pump();
  await done;
  print({ perSecond: N / ((performance.now() - started) / 1000) });
  process.exit(0);
}

async function rawEcho(): Promise<void> {
  const socket = await rawConnect();
  const echo = () =>
    new Promise<void>((resolve) => {
      socket.once('message', () => resolve());
      socket.send(payload);
    });
  print(await sequential(echo));
  process.exit(0);
}

/** Times SEQ sequential round trips after SEQ_WARMUP untimed ones; returns percentiles in ms. */
async function sequential(roundTrip: () => Promise<unknown>): Promise<Record<string, number>> {
  for (let i = 0; i < SEQ_WARMUP; i++) await roundTrip();
  const times: number[] = [];
  for (let i = 0; i < SEQ; i++) {
    const t0 = performance.now();
    await roundTrip();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return { p10: percentile(times, 0.1), p50: percentile(times, 0.5), p90: percentile(times, 0.9), p99: percentile(times, 0.99) };
}

/** The q-quantile of values already sorted ascending. */
function percentile(sorted: number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * q))];
}

async function boxwire(name: 'A' | 'B'): Promise<void> {
  // Only boxwire's modes load boxwire: the baselines run in processes without it.
  const { OverflowError, SERVER_CLUSTERING } = await import('../../src/index.js');
  let count = 0;
  let finished: () => void = () => {};
  SERVER_CLUSTERING.on('m', () => {
    if (++count === N) SERVER_CLUSTERING.send({ serverName: 'A', methodName: 'done' });
  });
  SERVER_CLUSTERING.on('done', () => finished());
  SERVER_CLUSTERING.on('echo', (data) => data);
  const linked = new Promise<void>((resolve) => SERVER_CLUSTERING.onServerUp(() => resolve()));
  await SERVER_CLUSTERING({ hosts, thisServerName: name, port });
  if (name === 'B') return ready();
  await linked;
  const target = { serverName: 'B', methodName: 'm', data: payload };
  if (mode === 'box-oneway') {
    const started = performance.now();
    const done = new Promise<void>((resolve) => (finished = resolve));
    let sent = 0;
    const pump = () => {
      const until = Math.min(N, sent + 20_000);
      try {
        while (sent < until) {
          SERVER_CLUSTERING.send(target);
          sent++;
        }
      } catch (error) {
        if (!(error instanceof OverflowError)) throw error;
        return void setTimeout(pump, 2); // the socket's buffer is full: let it drain
      }
      if (sent < N) setImmediate(pump);
    };
    pump();
    await done;
    print({ perSecond: N / ((performance.now() - started) / 1000) });
  } else if (mode === 'box-rr') {
    print({ perSecond: await inFlight(100, () => SERVER_CLUSTERING.request({ serverName: 'B', methodName: 'echo', data: payload })) });
  } else {
    print(await sequential(() => SERVER_CLUSTERING.request({ serverName: 'B', methodName: 'echo', data: payload })));
  }
  process.exit(0);
}

/** Keeps `depth` requests in flight for RR_MS (after a short warm-up); returns completions per second. */
async function inFlight(depth: number, call: () => Promise<unknown>): Promise<number> {
  let completed = 0;
  let measuring = false;
  let stop = false;
  const lane = async () => {
    while (!stop) {
      await call();
      if (measuring) completed++;
    }
  };
  const lanes = Array.from({ length: depth }, lane);
  await new Promise((resolve) => setTimeout(resolve, 500));
  measuring = true;
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, RR_MS));
  const elapsed = performance.now() - started;
  const result = completed / (elapsed / 1000);
  stop = true;
  await Promise.all(lanes);
  return result;
}

async function moleculer(name: 'a' | 'b'): Promise<void> {
  // Loaded here, not at the top: the other modes have no use for Moleculer's start-up cost.
  const { ServiceBroker } = await import('moleculer');
  const urls = [`127.0.0.1:${port}/a`, `127.0.0.1:${port2}/b`];
  const broker = new ServiceBroker({
    nodeID: name,
    logger: false,
    transporter: { type: 'TCP', options: { udpDiscovery: false, port: name === 'a' ? port : port2, urls } },
  });
  if (name === 'b') broker.createService({ name: 'bench', actions: { echo: (ctx) => ctx.params } });
  await broker.start();
  if (name === 'b') return ready();
  await broker.waitForServices(['bench']);
  const data = { p: payload.toString('hex') };
  print({ perSecond: await inFlight(100, () => broker.call('bench.echo', data)) });
  await broker.stop();
  process.exit(0);
}

switch (mode) {
  case 'raw-oneway':
    await (side === 'receiver' ? rawReceiver(false) : rawSender());
    break;
  case 'raw-echo':
    await (side === 'receiver' ? rawReceiver(true) : rawEcho());
    break;
  case 'box-oneway':
  case 'box-rr':
  case 'box-seq':
    await boxwire(side === 'receiver' ? 'B' : 'A');
    break;
  case 'mol-rr':
    await moleculer(side === 'receiver' ? 'b' : 'a');
    break;
  default:
    throw new Error(`unknown mode ${mode}`);
}
