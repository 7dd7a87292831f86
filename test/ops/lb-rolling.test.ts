/**
 * Rolling restarts and graceful stops drain through the load balancer: a real HAProxy from the
 * generated config in front of a real cluster (front door, two API servers, api1 with two
 * workers); and a rolling restart behind nginx, which has no active checks to drain through. A loop of concurrent API calls runs through HAProxy while api1 gets SIGUSR2 (every
 * worker replaced) and then api2 gets SIGTERM: not one call fails. The servers' `/__READY` goes
 * 503 first, HAProxy takes them out (`fall 2`), and only then are processes stopped.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import http from 'node:http';
import { loadClusterConfig } from '../../src/config/index.js';
import { generateHaproxy } from '../../ops/lb/haproxy.js';
import { generateNginx } from '../../ops/lb/nginx.js';
import { LB_CONFIG_KEYS } from '../../ops/lb/upstreams.js';
import { join } from 'node:path';
import { haproxyServerStates, nginxUser, startLb, withHaproxyStatsSocket, writeLbClusterConfig, type RunningLb } from '../helpers/load-balancers.js';
import { ClusterServers, waitClusterUp, waitHttp } from '../helpers/roles-cluster.js';
import { freePorts } from './helpers.js';

const HOSTS = { door: '127.0.0.51', api1: '127.0.0.52', api2: '127.0.0.53' };
let cluster: ClusterServers;
let haproxy: RunningLb;
let nginx: RunningLb;
let nginxBase = '';
let base = '';
let statsSocket = '';

/** Waits until HAProxy has every API server in rotation (its checks passed `rise` times). */
async function untilApiServersUp(): Promise<void> {
  for (const deadline = Date.now() + 30_000; ;) {
    const states = await haproxyServerStates(statsSocket);
    if (states['boxwire_api/api1'] === 'UP' && states['boxwire_api/api2'] === 'UP') return;
    assert.ok(Date.now() < deadline, `HAProxy API servers: ${JSON.stringify(states)}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

test.before(async () => {
  const { path, dir, servers, webPort } = await writeLbClusterConfig(HOSTS, { trustedProxies: ['127.0.0.1'] });
  // The loop calls as fast as it can from one address: lift the per-address rate limit (not what is tested here).
  cluster = new ClusterServers(path, { BOXWIRE_API_CALLS_PER_SECOND: '100000', BOXWIRE_API_BURST: '100000' });
  cluster.start('door', { BOXWIRE_LOG: 'info' });
  cluster.start('api1', { BOXWIRE_WORKERS: '2', BOXWIRE_LOG: 'info' });
  cluster.start('api2', { BOXWIRE_LOG: 'info' });
  const [port] = await freePorts(1);
  base = `http://127.0.0.1:${port}`;
  statsSocket = join(dir, 'haproxy.sock');
  const text = withHaproxyStatsSocket(generateHaproxy(loadClusterConfig(path, { only: LB_CONFIG_KEYS }), { listen: `127.0.0.1:${port}` }), statsSocket);
  haproxy = await startLb('haproxy', text, { host: '127.0.0.1', port });
  const [nginxPort] = await freePorts(1);
  nginxBase = `http://127.0.0.1:${nginxPort}`;
  nginx = await startLb('nginx', generateNginx(loadClusterConfig(path, { only: LB_CONFIG_KEYS }), { standalone: true, foreground: true, user: nginxUser(), listen: `127.0.0.1:${nginxPort}` }), { host: '127.0.0.1', port: nginxPort });
  await waitClusterUp(`http://${HOSTS.door}:${webPort}`, Object.values(servers), 3);
  // Both API servers in HAProxy's rotation: its log says so when a server comes UP after failing.
  for (const host of Object.values(HOSTS)) await waitHttp(`http://${host}:${webPort}/__READY`, (status) => (status === 200 ? true : undefined));
  await waitHttp(`${base}/__READY`, (status) => (status === 200 ? true : undefined));
});

test.after(async () => {
  await haproxy?.stop();
  await nginx?.stop();
  await cluster?.stopAll();
});

interface LoopResult { ok: number; failures: string[] }

/** `concurrency` callers, each calling `increment` through HAProxy on a keep-alive connection until stopped. */
function callLoop(concurrency: number, through = base): { stop: () => Promise<LoopResult> } {
  const agent = new http.Agent({ keepAlive: true, maxSockets: concurrency });
  const result: LoopResult = { ok: 0, failures: [] };
  let running = true;
  const call = () => new Promise<void>((resolve) => {
    const req = http.request(`${through}/__API/sample/increment`, { method: 'POST', agent, headers: { 'Content-Type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        if (res.statusCode === 200 && typeof JSON.parse(body).result === 'number') result.ok++;
        else result.failures.push(`${res.statusCode} ${body.slice(0, 200)}`);
        resolve();
      });
      res.on('error', (error) => {
        result.failures.push(`response: ${error.message}`);
        resolve();
      });
    });
    req.on('error', (error) => {
      result.failures.push(`request: ${error.message}`);
      resolve();
    });
    req.end('{"by":1}');
  });
  const loops = Array.from({ length: concurrency }, async () => {
    while (running) await call();
  });
  return {
    async stop() {
      running = false;
      await Promise.all(loops);
      agent.destroy();
      return result;
    },
  };
}

const logged = (server: string, event: string) => cluster.servers.get(server)!.stderr.split('\n').filter((line) => line.includes(`"${event}"`));

test('SIGUSR2 rolling restart of an API server behind HAProxy, under a call loop: no call fails', async () => {
  const api1 = cluster.servers.get('api1')!;
  const readyBefore = logged('api1', 'worker.ready').length;
  await untilApiServersUp();
  const loop = callLoop(4);
  // Calls are flowing before the restart starts.
  await waitHttp(`${base}/__CHECK_ALIVE`, () => true);
  api1.kill('SIGUSR2');
  await api1.until(() => (logged('api1', 'cluster.rolling_restart_done').length > 0 ? true : undefined), 60_000, () => 'rolling restart done');
  // Back in rotation, with calls still running.
  await untilApiServersUp();
  const result = await loop.stop();
  assert.equal(result.failures, [], `failed calls: ${result.failures.slice(0, 5).join('; ')}`);
  assert.ok(result.ok > 50, `calls made during the restart: ${result.ok}`);
  assert.ok(logged('api1', 'server.drained').length >= 1, 'the server waited for HAProxy to take it out before stopping workers');
  assert.match(haproxy.output(), /boxwire_api\/api1 is DOWN/);
  assert.is(logged('api1', 'worker.ready').length - readyBefore, 2, 'both workers were replaced');
});

test('SIGUSR2 rolling restart behind nginx (passive checks only, nothing to drain), under a call loop: no call fails', async () => {
  // A call still running on an old worker when its replacement takes over the id must get its
  // store answers (they travel by pid): it did not, and hung until the grace period killed it.
  const api1 = cluster.servers.get('api1')!;
  const done = logged('api1', 'cluster.rolling_restart_done').length;
  const loop = callLoop(4, nginxBase);
  await waitHttp(`${nginxBase}/__CHECK_ALIVE`, () => true);
  api1.kill('SIGUSR2');
  await api1.until(() => (logged('api1', 'cluster.rolling_restart_done').length > done ? true : undefined), 60_000, () => 'rolling restart done');
  const result = await loop.stop();
  assert.equal(result.failures, [], `failed calls: ${result.failures.slice(0, 5).join('; ')}`);
  assert.ok(result.ok > 50, `calls made during the restart: ${result.ok}`);
  assert.is(logged('api1', 'worker.kill_after_grace').length, 0, 'every old worker finished by itself');
});

test('SIGUSR2 of the only front door: HAProxy keeps sending to it while it drains (backup entry), pages never 503', async () => {
  const door = cluster.servers.get('door')!;
  const done = () => door.stderr.split('\n').filter((line) => line.includes('"cluster.rolling_restart_done"')).length;
  const before = done();
  const failures: string[] = [];
  let ok = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const answer = await fetch(`${base}/__SOCKET_SERVER_HOST`).then(async (r) => ({ status: r.status, text: await r.text() }), (error: Error) => ({ status: 0, text: error.message }));
      if (answer.status === 200) ok++;
      else failures.push(`${answer.status} ${answer.text.slice(0, 100)}`);
    }
  })();
  door.kill('SIGUSR2');
  await door.until(() => (done() > before ? true : undefined), 60_000, () => 'door rolled');
  running = false;
  await loop;
  assert.equal(failures, []);
  assert.ok(ok > 20, `requests during the restart: ${ok}`);
  assert.match(haproxy.output(), /boxwire_front_door\/door is DOWN/, 'the door was out of the active rotation while draining');
});

test('graceful stop (SIGTERM) of an API server behind HAProxy, under a call loop: no call fails', async () => {
  const api2 = cluster.servers.get('api2')!;
  await untilApiServersUp();
  const loop = callLoop(4);
  await waitHttp(`${base}/__CHECK_ALIVE`, () => true);
  api2.kill('SIGTERM');
  const exit = await api2.exited;
  const result = await loop.stop();
  assert.is(exit.code, 0);
  assert.equal(result.failures, [], `failed calls: ${result.failures.slice(0, 5).join('; ')}`);
  assert.ok(logged('api2', 'server.drained').length >= 1, 'drained before stopping');
  assert.match(haproxy.output(), /boxwire_api\/api2 is DOWN/);
});

test.run();
