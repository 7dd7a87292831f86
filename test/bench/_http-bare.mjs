// Baseline for test/bench/http.ts (plain JavaScript, as the compiled boxwire server it is
// compared with): node:cluster with one worker (the same process layout as the
// boxwire server it is compared with), serving the same work over bare node:http and bare `ws`.
import cluster from 'node:cluster';
import http from 'node:http';
import { WebSocketServer } from 'ws';

const [host, port] = [process.env.BENCH_HOST, Number(process.env.BENCH_PORT)];
const add = (data) => ({ sum: data.a + data.b });

if (cluster.isPrimary) {
  cluster.fork().on('message', (m) => process.stdout.write(`${m}\n`));
  process.on('SIGTERM', () => {
    for (const worker of Object.values(cluster.workers ?? {})) worker?.kill();
    process.exit(0);
  });
} else {
  const server = http.createServer((req, res) => {
    const chunks = [];
    req.on('data', (c) => chunks.push(c));
    req.on('end', () => {
      const body = JSON.stringify({ result: add(JSON.parse(Buffer.concat(chunks).toString())) });
      res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(body) }).end(body);
    });
  });
  const wss = new WebSocketServer({ server, perMessageDeflate: false });
  wss.on('connection', (socket) => socket.on('message', (raw) => {
    const message = JSON.parse(raw.toString());
    socket.send(JSON.stringify({ id: message.id, result: add(message.data) }));
  }));
  server.listen(port, host, () => process.send('ready'));
}
