// SIGUSR2 under HTTP load: the old workers' connections end without a failed request. A plain
// `http.createServer` in work(), as users write it; keep-alive clients (reused connections) and
// fresh connections both. Regression: node:cluster's disconnect closed servers with
// http.Server.close(), which reset idle keep-alive connections a client was sending on and
// connections accepted a moment before (ECONNRESET, Node 20 and 26).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import net from 'node:net';
import { once } from 'node:events';
import { CpuApp } from '../helpers/cpu-driver.js';
import { freePort } from '../helpers/server-driver.js';

const HOST = '127.0.0.1';

interface Answer { status: number; body: string; reused: boolean }

function get(port: number, agent: http.Agent | false): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.get({ host: HOST, port, path: '/', agent }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (c) => (body += c)).on('error', reject);
      res.on('end', () => resolve({ status: res.statusCode!, body, reused: req.reusedSocket }));
    });
    req.on('error', (error) => reject(Object.assign(error, { reused: req.reusedSocket })));
  });
}

test('three rolling restarts under keep-alive and fresh-connection HTTP load: zero failed requests', async () => {
  const port = await freePort([HOST]);
  const app = new CpuApp({ FIXTURE_WORKERS: '2', FIXTURE_HTTP_PORT: String(port) });
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  let looping = true;
  const loops: Promise<void>[] = [];
  try {
    await app.ready();
    let ok = 0;
    let reused = 0;
    const failures: string[] = [];
    const servedBy = new Set<string>();
    const client = (how: http.Agent | false) => loops.push((async () => {
      while (looping) {
        try {
          const answer = await get(port, how);
          if (answer.status !== 200) failures.push(`status ${answer.status}`);
          else ok++;
          if (answer.reused) reused++;
          servedBy.add(answer.body);
        } catch (error) {
          const e = error as NodeJS.ErrnoException & { reused?: boolean };
          failures.push(`${e.code ?? e.message}${e.reused ? ' on a reused connection' : ''}`);
        }
      }
    })());
    for (let i = 0; i < 4; i++) client(agent);
    for (let i = 0; i < 2; i++) client(false);
    for (let round = 1; round <= 3; round++) {
      const before = [...app.pids().values()];
      const okBefore = ok;
      await app.until(() => (ok >= okBefore + 200 ? true : undefined), 60_000, () => `200 answers before round ${round}`);
      app.kill('SIGUSR2');
      await app.waitFor((e) => e.event === 'exit' && before.includes(e.exitedPid), before.length, 60_000);
      const after = [...app.pids().values()];
      assert.ok(after.every((pid) => !before.includes(pid)), `round ${round}: every pid replaced`);
    }
    const okAtEnd = ok;
    await app.until(() => (ok >= okAtEnd + 200 ? true : undefined), 60_000, () => '200 answers after the last round');
    looping = false;
    await Promise.all(loops);
    assert.equal(failures, [], `${failures.length} failed of ${ok + failures.length}`);
    assert.ok(reused > 100, `keep-alive connections were reused (${reused} times)`);
    assert.ok([...app.pids().values()].every((pid) => servedBy.has(String(pid))), 'the last workers served requests');
    assert.ok(app.events.filter((e) => e.event === 'exit').every((e) => e.code === 0), 'old workers exited cleanly');
  } finally {
    looping = false;
    await Promise.all(loops);
    agent.destroy();
    await app.stop();
  }
});

/** One HTTP/1.1 exchange on a raw socket; resolves with the status line, headers and body. */
function exchange(socket: net.Socket): Promise<{ status: number; headers: Record<string, string>; body: string }> {
  return new Promise((resolve, reject) => {
    let text = '';
    const onData = (chunk: string) => {
      text += chunk;
      const end = text.indexOf('\r\n\r\n');
      if (end < 0) return;
      const [statusLine, ...lines] = text.slice(0, end).split('\r\n');
      const headers = Object.fromEntries(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
      const body = text.slice(end + 4);
      if (body.length < Number(headers['content-length'])) return;
      socket.off('data', onData).off('error', reject).off('close', onClose);
      resolve({ status: Number(statusLine.split(' ')[1]), headers, body });
    };
    const onClose = () => reject(new Error(`connection closed before an answer (got ${JSON.stringify(text)})`));
    socket.setEncoding('utf8').on('data', onData).once('error', reject).once('close', onClose);
    socket.write(`GET / HTTP/1.1\r\nHost: ${HOST}\r\n\r\n`);
  });
}

test('a stopping worker answers a request on an idle kept-alive connection, with Connection: close', async () => {
  const port = await freePort([HOST]);
  // Long idle times: the connection stays idle through the restart of the other worker.
  const app = new CpuApp({
    FIXTURE_WORKERS: '2', FIXTURE_HTTP_PORT: String(port), FIXTURE_KEEPALIVE_MS: '120000',
    BOXWIRE_HTTP_IDLE_CLOSE_MS: '120000', FIXTURE_GRACE_MS: '120000',
  });
  let socket: net.Socket | undefined;
  try {
    await app.ready();
    const connection = (socket = net.connect(port, HOST));
    await once(connection, 'connect');
    const first = await exchange(connection);
    assert.is(first.status, 200);
    assert.is.not(first.headers.connection, 'close');
    const pid = Number(first.body);
    app.kill('SIGUSR2');
    // That worker began to stop; the connection is idle and the client now sends on it.
    await app.waitFor((e) => e.event === 'stopping' && e.pid === pid, 1, 60_000);
    const closed = new Promise<void>((resolve) => connection.once('close', () => resolve()));
    const second = await exchange(connection);
    assert.is(second.status, 200);
    assert.is(second.body, String(pid), 'answered by the stopping worker');
    assert.is(second.headers.connection, 'close');
    await closed;
    // Its last connection closed: it exits at once, cleanly (not killed after the grace period).
    const [exit] = await app.waitFor((e) => e.event === 'exit' && e.exitedPid === pid, 1, 60_000);
    assert.is(exit.code, 0);
  } finally {
    socket?.destroy();
    await app.stop();
  }
});

test.run();
