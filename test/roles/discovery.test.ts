// The front door sends clients to live servers: discovery answers (text and JSONP), bursts spread
// by spare capacity, the live cluster view, `boxwire status`, and a killed API server dropped from
// the answers within 5 s.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import WebSocket from 'ws';
import { repoRoot } from '../helpers/process-harness.js';
import { ClusterServers, waitClusterUp, waitHttp, writeConfig } from '../helpers/roles-cluster.js';

const WEB = 18520;
const servers = {
  door: { host: '127.0.0.2', webPort: WEB, roles: ['front-door'] },
  api1: { host: '127.0.0.3', webPort: WEB, roles: ['api'] },
  api2: { host: '127.0.0.4', webPort: WEB, roles: ['api'] },
  upload1: { host: '127.0.0.5', webPort: WEB, roles: ['upload'], dataDir: 'upload1' },
};
const { path } = writeConfig({ clusteringPort: 18521, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'], servers });
const cluster = new ClusterServers(path);
const door = `http://127.0.0.2:${WEB}`;

test.before(async () => {
  for (const name of Object.keys(servers)) cluster.start(name);
  await waitClusterUp(door, Object.values(servers), 4);
});
test.after(() => cluster.stopAll());

test('discovery answers a live server of each role as host:port', async () => {
  const api = await (await fetch(`${door}/__SOCKET_SERVER_HOST`)).text();
  assert.ok([`127.0.0.3:${WEB}`, `127.0.0.4:${WEB}`].includes(api), api);
  assert.is(await (await fetch(`${door}/__UPLOAD_SERVER_HOST`)).text(), `127.0.0.5:${WEB}`);
  assert.is(await (await fetch(`${door}/__WEB_SERVER_HOST`)).text(), `127.0.0.2:${WEB}`);
  assert.equal(await (await fetch(`${door}/__WEB_SERVER_HOSTS`)).json(), [`127.0.0.2:${WEB}`]);
});

test('JSONP: a valid callback wraps the answer; an invalid one is refused, never echoed', async () => {
  const ok = await fetch(`${door}/__UPLOAD_SERVER_HOST?callback=App.onHost`);
  assert.match(ok.headers.get('content-type')!, /javascript/);
  assert.is(await ok.text(), `/**/App.onHost("127.0.0.5:${WEB}");`);
  const hosts = await (await fetch(`${door}/__WEB_SERVER_HOSTS?callback=cb`)).text();
  assert.is(hosts, `/**/cb(["127.0.0.2:${WEB}"]);`);
  for (const bad of ['alert(1)//', 'a b', '1abc', '<script>', 'a'.repeat(70)]) {
    const response = await fetch(`${door}/__SOCKET_SERVER_HOST?callback=${encodeURIComponent(bad)}`);
    assert.is(response.status, 400, bad);
    assert.not.match(await response.text(), bad.replace(/[()[\]\\^$.|?*+{}]/g, '\\$&'));
  }
});

test('front door: the default box static files, never a file outside its folder', async () => {
  const index = await fetch(`${door}/`);
  assert.match(index.headers.get('content-type')!, /text\/html/);
  assert.match(await index.text(), /<title>boxwire sample<\/title>/);
  const css = await fetch(`${door}/style.css`);
  assert.match(css.headers.get('content-type')!, /text\/css/);
  const etag = css.headers.get('etag')!;
  assert.is((await fetch(`${door}/style.css`, { headers: { 'If-None-Match': etag } })).status, 304);
  const { request } = await import('node:http');
  // Raw paths (fetch would normalize the dots away before sending).
  for (const path of ['/../index.js', '/%2e%2e/index.js', '/..%2f..%2fpackage.json', '/%2e%2e%2f%2e%2e%2fpackage.json', '/static/../../index.js', '/%00']) {
    const status = await new Promise<number>((resolve, reject) => {
      request({ host: '127.0.0.2', port: WEB, path }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      }).on('error', reject).end();
    });
    assert.is(status, 404, path);
  }
  // The API role's paths are not served by a front-door-only server.
  assert.is((await fetch(`${door}/__API/sample/getCounter`, { method: 'POST' })).status, 404);
});

test('health: /__CHECK_ALIVE and /__VERSION on every server; /__STATUS shows roles, workers, links, load', async () => {
  for (const s of Object.values(servers)) {
    const alive = await fetch(`http://${s.host}:${WEB}/__CHECK_ALIVE`);
    assert.is(alive.status, 200);
    assert.is(await alive.text(), 'ok');
  }
  const version = await (await fetch(`${door}/__VERSION`)).json();
  assert.is(version.server, 'door');
  assert.match(version.boxwire, /^\d+\.\d+\.\d+/);
  const status = await (await fetch(`${door}/__STATUS`)).json();
  assert.is(status.thisServer, 'door');
  const api2 = status.servers.find((s: { name: string }) => s.name === 'api2');
  assert.equal(api2.roles, ['api']);
  assert.ok(api2.live);
  assert.is(typeof api2.load, 'number');
  assert.is(api2.detail.workers.count, 1);
  assert.equal(api2.detail.links.sort(), ['api1', 'door', 'upload1']);
  const page = await fetch(`${door}/__CLUSTER`);
  assert.match(page.headers.get('content-type')!, /text\/html/);
  assert.match(await page.text(), /setInterval\(refresh/);
});

test('boxwire status --config prints the live topology (the cluster key need not be set for it)', () => {
  const { BOXWIRE_CLUSTER_KEY: _unset, ...env } = process.env;
  const result = spawnSync(process.execPath, [join(repoRoot, 'bin/boxwire.js'), 'status', '--config', path], { encoding: 'utf8', env });
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, /cluster as seen by door/);
  for (const name of Object.keys(servers)) assert.match(result.stdout, new RegExp(`\\n${name}\\*?\\s+127\\.0\\.0\\.\\d:${WEB}\\s+\\S+\\s+live`));
});

/** A burst: `count` concurrent discovery requests, tallied by the API server each one named. */
async function burst(count: number): Promise<Record<string, number>> {
  const answers = await Promise.all(Array.from({ length: count }, () => fetch(`${door}/__SOCKET_SERVER_HOST`).then((r) => r.text())));
  const tally: Record<string, number> = { api1: 0, api2: 0 };
  for (const answer of answers) {
    const name = answer === `127.0.0.3:${WEB}` ? 'api1' : answer === `127.0.0.4:${WEB}` ? 'api2' : `unexpected ${answer}`;
    tally[name] = (tally[name] ?? 0) + 1;
  }
  return tally;
}

const loadOf = (body: string, name: string): number => JSON.parse(body).servers.find((x: { name: string }) => x.name === name).load;

/** The door's worker gets the master's view with the next push (every second): waits until its answers come from a view at least this new. */
async function viewAtLeast(at: number): Promise<void> {
  const viewAt = async () => Number((await fetch(`${door}/__SOCKET_SERVER_HOST`)).headers.get('x-boxwire-view-at'));
  for (const deadline = Date.now() + 5_000; (await viewAt()) < at;) {
    assert.ok(Date.now() < deadline, 'the door worker got a newer view within 5 s');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test('a burst of 100 discovery requests spreads over two idle API servers (neither gets less than a third)', async () => {
  // Idle: neither holds clients, so their load figures differ by noise only.
  const seenAt = await waitHttp(`${door}/__STATUS`, (code, body) => (code === 200 && Math.abs(loadOf(body, 'api1') - loadOf(body, 'api2')) < 0.05 ? Date.parse(JSON.parse(body).at) : undefined), 15_000);
  await viewAtLeast(seenAt);
  const tally = await burst(100);
  assert.equal(Object.keys(tally).sort(), ['api1', 'api2'], JSON.stringify(tally));
  assert.ok(tally.api1 >= 34 && tally.api2 >= 34, `spread: ${JSON.stringify(tally)}`);
});

test('a clearly loaded API server (800 more clients) gets clearly fewer of a burst, but not none', async () => {
  const sockets = await Promise.all(Array.from({ length: 800 }, () => new Promise<WebSocket>((resolve, reject) => {
    const socket = new WebSocket(`ws://127.0.0.3:${WEB}/__API`);
    socket.once('open', () => resolve(socket)).once('error', reject);
  })));
  try {
    // Connection counts travel on the heartbeats: wait until the door's view reflects them.
    const seenAt = await waitHttp(`${door}/__STATUS`, (code, body) => (code === 200 && loadOf(body, 'api1') - loadOf(body, 'api2') > 0.7 ? Date.parse(JSON.parse(body).at) : undefined), 15_000);
    await viewAtLeast(seenAt);
    const tally = await burst(100);
    // Expected share of the loaded one with a load 0.7–0.8 above: about a fifth of the burst.
    assert.ok(tally.api1 < 40, `the loaded server got fewer: ${JSON.stringify(tally)}`);
    assert.ok(tally.api1 > 0, `never none (the figures are a second old): ${JSON.stringify(tally)}`);
  } finally {
    for (const socket of sockets) socket.close();
  }
});

test('a killed API server is no longer handed out within 5 s; the other one is', async () => {
  const victim = cluster.servers.get('api1')!;
  // Make sure the door currently considers both API servers live.
  const status = await (await fetch(`${door}/__STATUS`)).json();
  assert.ok(status.servers.filter((s: { live: boolean; roles: string[] }) => s.live && s.roles.includes('api')).length === 2);
  victim.kill('SIGKILL');
  const killedAt = Date.now();
  await waitHttp(`${door}/__STATUS`, (code, body) => (code === 200 && !JSON.parse(body).servers.find((s: { name: string }) => s.name === 'api1').live ? true : undefined), 10_000);
  const elapsed = Date.now() - killedAt;
  assert.ok(elapsed < 5000, `noticed after ${elapsed} ms`);
  for (let i = 0; i < 20; i++) assert.is(await (await fetch(`${door}/__SOCKET_SERVER_HOST`)).text(), `127.0.0.4:${WEB}`);
});

test('no live server of a role → 503 with a clear error', async () => {
  await cluster.servers.get('upload1')!.stop();
  const body = await waitHttp(`${door}/__UPLOAD_SERVER_HOST`, (code, text) => (code === 503 ? JSON.parse(text) : undefined), 10_000);
  assert.is(body.error.code, 'NO_LIVE_SERVER');
  assert.match(body.error.message, /upload role/);
});

test.run();
