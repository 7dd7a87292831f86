/**
 * A real nginx, configured by `generateNginx`, in front of two API backends on 127.0.0.5 and
 * 127.0.0.6 (same port): it spreads requests across both, passes a WebSocket upgrade through,
 * and stops sending to a backend that was killed (requests keep succeeding on the other one).
 * nginx runs in the foreground from its own prefix directory and is stopped by its pid.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { once } from 'node:events';
import { createServer } from 'node:net';
import WebSocket from 'ws';
import { parseClusterConfig } from '../../src/config/index.js';
import { generateNginx } from '../../ops/lb/nginx.js';
import { waitForPort } from '../../ops/mongo/processes.js';
import { freePorts, tempDir } from './helpers.js';

const BACKEND_HOSTS = ['127.0.0.5', '127.0.0.6'];
const children: ChildProcess[] = [];
let nginxPort = 0;
let prefix = '';
let backends: Record<string, ChildProcess> = {};

/** One port free on every backend address (they must share it, like a cluster's webPort). */
async function sharedFreePort(): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const [port] = await freePorts(1, BACKEND_HOSTS[0]);
    try {
      await new Promise<void>((resolve, reject) => {
        const probe = createServer().once('error', reject).listen(port, BACKEND_HOSTS[1], () => probe.close(() => resolve()));
      });
      return port;
    } catch {
      continue;
    }
  }
  throw new Error('no port free on both backend addresses');
}

function startBackend(host: string, port: number, name: string): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'api-backend.ts'), host, String(port), name], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`backend ${name} exited early (${code})`)));
    child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) resolve(child); });
  });
}

function get(path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: nginxPort, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
    req.end();
  });
}

async function servedBy(path: string, count: number): Promise<Record<string, number>> {
  const tally: Record<string, number> = {};
  for (let i = 0; i < count; i++) {
    const { status, body } = await get(path);
    assert.is(status, 200, `request ${i}: ${body}`);
    const server = JSON.parse(body).server as string;
    tally[server] = (tally[server] ?? 0) + 1;
  }
  return tally;
}

test.before(async () => {
  const webPort = await sharedFreePort();
  [nginxPort] = await freePorts(1);
  const [clusteringPort] = await freePorts(1);
  backends = {
    api5: await startBackend(BACKEND_HOSTS[0], webPort, 'api5'),
    api6: await startBackend(BACKEND_HOSTS[1], webPort, 'api6'),
  };
  // Both servers hold every role (no roles named), as a small cluster would.
  const config = parseClusterConfig({ clusteringPort, servers: { api5: { host: BACKEND_HOSTS[0], webPort }, api6: { host: BACKEND_HOSTS[1], webPort } } });
  prefix = tempDir('nginx-live');
  mkdirSync(join(prefix, 'logs'));
  mkdirSync(join(prefix, 'tmp'));
  const user = process.getuid?.() === 0 ? 'root' : undefined;
  writeFileSync(join(prefix, 'nginx.conf'), generateNginx(config, { standalone: true, foreground: true, user, listen: `127.0.0.1:${nginxPort}` }));
  const nginx = spawn('nginx', ['-p', prefix, '-c', join(prefix, 'nginx.conf')], { stdio: ['ignore', 'inherit', 'inherit'] });
  children.push(nginx);
  const exited = once(nginx, 'exit').then(([code]) => { throw new Error(`nginx exited (${code}): ${readFileSync(join(prefix, 'logs', 'error.log'), 'utf8')}`); });
  await Promise.race([waitForPort('127.0.0.1', nginxPort, true, 15_000, 50), exited]);
  exited.catch(() => undefined);
});

test.after(async () => {
  for (const child of children.reverse()) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
});

test('spreads requests across both API servers', async () => {
  const tally = await servedBy('/__API/echo', 40);
  assert.equal(Object.keys(tally).sort(), ['api5', 'api6']);
  assert.ok(tally.api5 >= 10 && tally.api6 >= 10, `round robin: ${JSON.stringify(tally)}`);
  const front = await servedBy('/index.html', 4);
  assert.is(Object.values(front).reduce((a, b) => a + b, 0), 4, 'the front door answers through nginx too');
  const health = await get('/__CHECK_ALIVE');
  assert.equal(health, { status: 200, body: 'ok' });
});

test('passes a WebSocket upgrade through on /__API and /__API/…', async () => {
  for (const path of ['/__API', '/__API/socket']) {
    const ws = new WebSocket(`ws://127.0.0.1:${nginxPort}${path}`);
    await once(ws, 'open');
    ws.send('hello');
    const [data] = await once(ws, 'message');
    assert.match(String(data), /^api[56]:hello$/);
    ws.close();
    await once(ws, 'close');
  }
});

test('stops sending to a killed backend', async () => {
  const victim = backends.api6;
  victim.kill('SIGKILL');
  await once(victim, 'exit');
  const tally = await servedBy('/__API/after-kill', 30);
  assert.equal(tally, { api5: 30 }, 'every request succeeded, on the live backend');
  const log = readFileSync(join(prefix, 'logs', 'error.log'), 'utf8');
  const refused = log.split('\n').filter((line) => line.includes('connect() failed') && line.includes('127.0.0.6')).length;
  assert.ok(refused >= 1, 'nginx did try the killed backend');
  assert.ok(refused <= 2, `then left it out after max_fails=2 (tried ${refused} times in 30 requests)`);
  assert.match(log, /upstream server temporarily disabled/);
});

test.run();
