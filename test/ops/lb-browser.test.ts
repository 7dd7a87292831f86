/**
 * The sample page in headless Chromium through a real nginx (generated config, TLS with a
 * self-signed certificate made by openssl here) in front of a real 4-server cluster whose config
 * sets `publicUrl` to nginx's HTTPS address. The browser only ever talks to that address: the
 * page, discovery (which answers the public host), the WebSocket (wss, through nginx), the
 * upload (to the host /__UPLOAD_SERVER_HOST named: nginx again) and the download (nginx sends it
 * to the upload server named in the file id) — same bytes.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { chromium, type Browser } from 'playwright-core';
import { loadClusterConfig } from '../../src/config/index.js';
import { generateNginx } from '../../ops/lb/nginx.js';
import { LB_CONFIG_KEYS } from '../../ops/lb/upstreams.js';
import { selfSignedCert, send } from '../helpers/lb-client.js';
import { nginxUser, startLb, writeLbClusterConfig, type RunningLb } from '../helpers/load-balancers.js';
import { ClusterServers, waitClusterUp, waitHttp } from '../helpers/roles-cluster.js';
import { freePorts } from './helpers.js';

const HOSTS = { door: '127.0.0.61', api1: '127.0.0.62', api2: '127.0.0.63', up1: '127.0.0.64' };
let cluster: ClusterServers;
let nginx: RunningLb;
let browser: Browser;
let publicUrl = '';
let ca: Buffer;
let webPort = 0;
const webPortOf = () => webPort;

test.before(async () => {
  const [httpPort, httpsPort] = await freePorts(2);
  publicUrl = `https://127.0.0.1:${httpsPort}`;
  const { path, dir, servers, webPort: port } = await writeLbClusterConfig(HOSTS, { publicUrl });
  webPort = port;
  const tls = selfSignedCert(dir);
  ca = tls.ca;
  cluster = new ClusterServers(path);
  for (const name of Object.keys(servers)) cluster.start(name);
  const lbConfig = loadClusterConfig(path, { only: LB_CONFIG_KEYS, env: {} });
  nginx = await startLb('nginx', generateNginx(lbConfig, {
    standalone: true, foreground: true, user: nginxUser(), listen: `127.0.0.1:${httpPort}`, tlsListen: `127.0.0.1:${httpsPort}`, tls,
  }), { host: '127.0.0.1', port: httpsPort });
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await waitClusterUp(`http://${HOSTS.door}:${webPort}`, Object.values(servers), 4);
  for (const host of Object.values(HOSTS)) await waitHttp(`http://${host}:${webPort}/__READY`, (status) => (status === 200 ? true : undefined));
});

test.after(async () => {
  await browser?.close();
  await nginx?.stop();
  await cluster?.stopAll();
});

test('the sample page works through nginx over HTTPS with publicUrl: wss, upload, download — every request to the public address', async () => {
  const publicHost = new URL(publicUrl).host;
  assert.is((await send(`${publicUrl}/__SOCKET_SERVER_HOST`, { ca })).text, publicHost, 'discovery answers the public address');
  // The self-signed certificate is trusted for this context only (as if a real CA had signed it).
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  const requests: string[] = [];
  const sockets: string[] = [];
  page.on('request', (request) => requests.push(request.url()));
  page.on('websocket', (socket) => sockets.push(socket.url()));

  await page.goto(`${publicUrl}/`);
  assert.is(await page.title(), 'boxwire sample');
  await page.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
  assert.is(await page.getAttribute('#state', 'data-api-host'), publicHost);
  assert.equal(sockets, [`wss://${publicHost}/__API`]);

  await page.waitForFunction(() => document.getElementById('counter')!.textContent !== '–');
  const start = Number(await page.textContent('#counter'));
  await page.click('#increment');
  await page.waitForFunction((value) => document.getElementById('counter')!.textContent === String(value), start + 1, { timeout: 10_000 });

  const bytes = randomBytes(250_000);
  await page.setInputFiles('#file', { name: 'through nginx.bin', mimeType: 'application/octet-stream', buffer: bytes });
  await page.waitForSelector('#download-link', { timeout: 20_000 });
  const link = (await page.getAttribute('#download-link', 'href'))!;
  assert.ok(link.startsWith(`${publicUrl}/__RF/sample/up1.`), link);
  const fetched = await page.evaluate(async (url) => {
    const response = await fetch(url);
    const buffer = new Uint8Array(await response.arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
    return { status: response.status, finalUrl: response.url, size: buffer.length, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
  }, link);
  assert.is(fetched.status, 200);
  assert.is(fetched.finalUrl, link, 'served straight from the owner through nginx, no redirect');
  assert.is(fetched.size, bytes.length);
  assert.is(fetched.sha256, createHash('sha256').update(bytes).digest('hex'));

  // A server that does not hold the file (here the front door, asked directly) redirects to the
  // public address, which nginx routes to the holder — never to the holder's internal address.
  const path = new URL(link).pathname;
  const redirect = await send(`http://${HOSTS.door}:${webPortOf()}${path}?download=1`);
  assert.is(redirect.status, 302);
  assert.is(redirect.headers.location, `${publicUrl}${path}?download=1`);
  const followed = await send(redirect.headers.location!, { ca });
  assert.ok(followed.body.equals(bytes), 'the redirect target serves the same bytes');

  const elsewhere = requests.filter((url) => !url.startsWith(`${publicUrl}/`));
  assert.equal(elsewhere, [], 'the browser never went around the load balancer');
  assert.ok(requests.some((url) => url.startsWith(`${publicUrl}/__UPLOAD?`)), 'the upload went through it');
  await context.close();
});

test.run();
