/**
 * End to end through real load balancers: nginx and HAProxy, run from the generated configs (plain
 * HTTP, and TLS with a self-signed certificate made by openssl here), in front of a real
 * 4-server cluster on 127.0.0.x (front door, two API servers, an upload server). Through the
 * load balancer only, as a browser would: load the page and the client module, ask both
 * discovery paths (and the others) — they answer the load balancer's own address, since the
 * servers trust its X-Forwarded-Host/Proto (config `trustedProxies`) — make a WebSocket API call
 * (wss over TLS), upload a file and download it again (same bytes; the balancer sends the
 * download to the upload server named in the file id). With TLS, plain HTTP redirects to HTTPS.
 * Last, a client that is not a trusted proxy cannot make a server hand out a host of its choosing.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { randomBytes } from 'node:crypto';
import { request } from 'node:http';
import { loadClusterConfig } from '../../src/config/index.js';
import { generateHaproxy, writeHaproxyPem } from '../../ops/lb/haproxy.js';
import { generateNginx } from '../../ops/lb/nginx.js';
import { LB_CONFIG_KEYS } from '../../ops/lb/upstreams.js';
import { callOverWebSocket, multipartFile, selfSignedCert, send } from '../helpers/lb-client.js';
import { nginxUser, startLb, writeLbClusterConfig, type RunningLb } from '../helpers/load-balancers.js';
import { ClusterServers, waitClusterUp, waitHttp } from '../helpers/roles-cluster.js';
import { freePorts } from './helpers.js';

const HOSTS = { door: '127.0.0.41', api1: '127.0.0.42', api2: '127.0.0.43', up1: '127.0.0.44' };
let cluster: ClusterServers;
let configPath = '';
let tls: ReturnType<typeof selfSignedCert>;
const lbs: RunningLb[] = [];
/** name → { base URL the client uses, the plain-HTTP port that redirects (TLS only) } */
const entries: Record<string, { base: string; redirectPort?: number }> = {};

test.before(async () => {
  // The load balancers run on this machine and connect from 127.0.0.1.
  const written = await writeLbClusterConfig(HOSTS, { trustedProxies: ['127.0.0.1'] });
  const { servers, webPort } = written;
  configPath = written.path;
  tls = selfSignedCert(written.dir);
  cluster = new ClusterServers(configPath);
  for (const name of Object.keys(servers)) cluster.start(name);

  // What `boxwire ops lb` reads: no cluster key or MongoDB secrets involved.
  const lbConfig = loadClusterConfig(configPath, { only: LB_CONFIG_KEYS, env: {} });
  const [nginxPlain, nginxHttp, nginxHttps, haPlain, haHttp, haHttps] = await freePorts(6);
  const on = (port: number) => `127.0.0.1:${port}`;
  const user = nginxUser();
  await writeHaproxyPem({ cert: tls.cert, key: tls.key });
  lbs.push(await startLb('nginx', generateNginx(lbConfig, { standalone: true, foreground: true, user, listen: on(nginxPlain) }), { host: '127.0.0.1', port: nginxPlain }));
  lbs.push(await startLb('nginx', generateNginx(lbConfig, { standalone: true, foreground: true, user, listen: on(nginxHttp), tlsListen: on(nginxHttps), tls }), { host: '127.0.0.1', port: nginxHttps }));
  lbs.push(await startLb('haproxy', generateHaproxy(lbConfig, { listen: on(haPlain) }), { host: '127.0.0.1', port: haPlain }));
  lbs.push(await startLb('haproxy', generateHaproxy(lbConfig, { listen: on(haHttp), tlsListen: on(haHttps), tls }), { host: '127.0.0.1', port: haHttps }));
  entries['nginx'] = { base: `http://${on(nginxPlain)}` };
  entries['nginx TLS'] = { base: `https://${on(nginxHttps)}`, redirectPort: nginxHttp };
  entries['HAProxy'] = { base: `http://${on(haPlain)}` };
  entries['HAProxy TLS'] = { base: `https://${on(haHttps)}`, redirectPort: haHttp };

  await waitClusterUp(`http://${HOSTS.door}:${webPort}`, Object.values(servers), 4);
  // Every server ready (the load balancers' checks route only to ready servers).
  for (const host of Object.values(HOSTS)) await waitHttp(`http://${host}:${webPort}/__READY`, (status) => (status === 200 ? true : undefined));
});

test.after(async () => {
  for (const lb of lbs) await lb.stop();
  await cluster?.stopAll();
});

/**
 * HAProxy routes to a server only after its checks passed (`rise 2`): wait until every backend
 * answers through the balancer — anything but a 502/503 from the balancer itself.
 */
async function untilBackendsUp(base: string): Promise<void> {
  const probes: Array<[string, string]> = [['GET', '/__READY'], ['POST', '/__API/sample/getCounter'], ['POST', '/__UPLOAD?box=sample'], ['GET', '/__RF/sample/up1.AAAAAAAAAAAA']];
  for (const [method, path] of probes) {
    for (const deadline = Date.now() + 20_000; ;) {
      const answer = await send(`${base}${path}`, { method, ca: tls.ca, body: method === 'POST' ? '{}' : undefined, headers: method === 'POST' ? { 'Content-Type': 'application/json' } : {} }).catch(() => undefined);
      if (answer && answer.status !== 502 && answer.status !== 503) break;
      assert.ok(Date.now() < deadline, `${method} ${path} answered ${answer?.status}: ${answer?.text.slice(0, 200)}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

for (const name of ['nginx', 'nginx TLS', 'HAProxy', 'HAProxy TLS']) {
  test(`${name}: page, discovery, WebSocket call, upload and download — through the load balancer only`, async () => {
    const { base } = entries[name];
    const ca = tls.ca;
    const publicHost = new URL(base).host;
    const secure = base.startsWith('https:');
    await untilBackendsUp(base);

    const page = await send(`${base}/`, { ca });
    assert.is(page.status, 200);
    assert.match(page.text, /<title>boxwire sample<\/title>/);
    const client = await send(`${base}/__boxwire/client.js`, { ca });
    assert.is(client.status, 200);
    assert.match(client.text, /export function connect/);

    // Both discovery paths (and the others) name the load balancer: the servers are not reachable from outside.
    for (const path of ['/__SOCKET_SERVER_HOST', '/__UPLOAD_SERVER_HOST', '/__WEB_SERVER_HOST']) {
      const answer = await send(`${base}${path}`, { ca });
      assert.is(answer.status, 200, `${path}: ${answer.text}`);
      assert.is(answer.text, publicHost, path);
    }
    assert.equal(JSON.parse((await send(`${base}/__WEB_SERVER_HOSTS`, { ca })).text), [publicHost]);
    const jsonp = await send(`${base}/__SOCKET_SERVER_HOST?callback=onHost`, { ca });
    assert.is(jsonp.text, `/**/onHost(${JSON.stringify(publicHost)});`);

    const socketHost = (await send(`${base}/__SOCKET_SERVER_HOST`, { ca })).text;
    const before = await callOverWebSocket(`${secure ? 'wss' : 'ws'}://${socketHost}/__API`, { box: 'sample', method: 'getCounter' }, ca);
    const after = await callOverWebSocket(`${secure ? 'wss' : 'ws'}://${socketHost}/__API`, { box: 'sample', method: 'increment', data: { by: 2 } }, ca);
    assert.is(typeof before.result, 'number', JSON.stringify(before));
    assert.ok((after.result as number) >= (before.result as number) + 2, `${JSON.stringify(before)} → ${JSON.stringify(after)}`);

    const uploadHost = (await send(`${base}/__UPLOAD_SERVER_HOST`, { ca })).text;
    const bytes = randomBytes(200_000 + Math.floor(Math.random() * 1000));
    const form = await multipartFile(`through ${name}.bin`, bytes);
    const uploaded = await send(`${secure ? 'https' : 'http'}://${uploadHost}/__UPLOAD?box=sample`, { method: 'POST', body: form.body, headers: { 'Content-Type': form.contentType }, ca });
    assert.is(uploaded.status, 201, uploaded.text);
    const meta = JSON.parse(uploaded.text).files[0];
    assert.is(meta.server, 'up1');
    const downloaded = await send(`${base}/__RF/sample/${meta.id}`, { ca });
    assert.is(downloaded.status, 200, downloaded.text.slice(0, 300));
    assert.ok(downloaded.body.equals(bytes), `same ${bytes.length} bytes (got ${downloaded.body.length})`);
  });
}

for (const name of ['nginx TLS', 'HAProxy TLS']) {
  test(`${name}: plain HTTP is redirected to HTTPS, path and query kept`, async () => {
    const { base, redirectPort } = entries[name];
    const answer = await send(`http://127.0.0.1:${redirectPort}/__SOCKET_SERVER_HOST?callback=cb`);
    assert.is(answer.status, 301, answer.text);
    assert.is(answer.headers.location, `${base}/__SOCKET_SERVER_HOST?callback=cb`);
  });
}

test('behind a trusted proxy, a download asked of a server that does not hold the file redirects through the proxy', async () => {
  const bytes = randomBytes(10_000);
  const form = await multipartFile('redirected.bin', bytes);
  const base = entries['nginx TLS'].base;
  const uploaded = JSON.parse((await send(`${base}/__UPLOAD?box=sample`, { method: 'POST', body: form.body, headers: { 'Content-Type': form.contentType }, ca: tls.ca })).text).files[0];
  const config = loadClusterConfig(configPath, { env: { BOXWIRE_CLUSTER_KEY: 'unused-here' } });
  const door = config.servers.door;
  // As nginx would ask it (from 127.0.0.1, a trusted proxy), with the public scheme and host.
  const host = new URL(base).host;
  const answer = await send(`http://${door.host}:${door.webPort}/__RF/sample/${uploaded.id}`, { headers: { 'X-Forwarded-Proto': 'https', 'X-Forwarded-Host': host } });
  assert.is(answer.status, 302);
  assert.is(answer.headers.location, `${base}/__RF/sample/${uploaded.id}`);
  assert.ok((await send(answer.headers.location!, { ca: tls.ca })).body.equals(bytes));
});

test('a client that is not a trusted proxy cannot choose the host servers hand out (X-Forwarded-* ignored)', async () => {
  const config = loadClusterConfig(configPath, { env: { BOXWIRE_CLUSTER_KEY: 'unused-here' } });
  const door = config.servers.door;
  const answer = await new Promise<string>((resolve, reject) => {
    // From 127.0.0.9: not in trustedProxies.
    const req = request({ host: door.host, port: door.webPort, path: '/__SOCKET_SERVER_HOST', localAddress: '127.0.0.9', agent: false,
      headers: { 'X-Forwarded-Host': 'evil.example', 'X-Forwarded-Proto': 'https' } }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => resolve(body));
    });
    req.on('error', reject);
    req.end();
  });
  assert.ok([`${HOSTS.api1}:${door.webPort}`, `${HOSTS.api2}:${door.webPort}`].includes(answer), answer);
});

test.run();
