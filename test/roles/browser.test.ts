// The demo cluster in headless Chromium: the page opens at the front door, learns its API server
// from /__SOCKET_SERVER_HOST, increments the shared counter; a second browser context on the
// other API server sees the value pushed through the room; an upload goes to the upload server
// and downloads through the front door (redirect followed) with identical bytes.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createHash, randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../helpers/process-harness.js';
import { ClusterServers, waitClusterUp, writeConfig } from '../helpers/roles-cluster.js';

const WEB = 18540;
// demo/cluster.json's three servers, plus a second API server.
const servers = {
  door: { host: '127.0.0.2', webPort: WEB, roles: ['front-door'] },
  api1: { host: '127.0.0.3', webPort: WEB, roles: ['api'] },
  upload1: { host: '127.0.0.4', webPort: WEB, roles: ['upload'], dataDir: 'upload1' },
  api2: { host: '127.0.0.5', webPort: WEB, roles: ['api'] },
};
const { path } = writeConfig({ clusteringPort: 18541, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'], maxUploadFileMB: 5, servers });
const cluster = new ClusterServers(path);
const door = `http://127.0.0.2:${WEB}`;
const artifacts = join(repoRoot, 'test-artifacts');
let browser: Browser;

test.before(async () => {
  for (const name of Object.keys(servers)) cluster.start(name);
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    // A fresh temporary profile per launch (playwright's default); nothing is downloaded.
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await waitClusterUp(door, Object.values(servers), 4);
  mkdirSync(artifacts, { recursive: true });
});
test.after(async () => {
  await browser?.close();
  await cluster.stopAll();
});

async function connectedHost(page: Page): Promise<string> {
  await page.waitForSelector('#state[data-state="connected"]', { timeout: 20_000 });
  return (await page.getAttribute('#state', 'data-api-host'))!;
}

test('two browsers on two API servers share the counter; upload and download through another server', async () => {
  const first = await (await browser.newContext()).newPage();
  const discovery: string[] = [];
  first.on('request', (request) => {
    if (request.url().includes('/__SOCKET_SERVER_HOST')) discovery.push(request.url());
  });
  await first.goto(`${door}/`);
  assert.is(await first.title(), 'boxwire sample');
  const firstHost = await connectedHost(first);
  assert.equal(discovery, [`${door}/__SOCKET_SERVER_HOST`], 'the page asked the front door where to connect');
  assert.ok([`127.0.0.3:${WEB}`, `127.0.0.5:${WEB}`].includes(firstHost), firstHost);

  const otherHost = firstHost === `127.0.0.3:${WEB}` ? `127.0.0.5:${WEB}` : `127.0.0.3:${WEB}`;
  const second = await (await browser.newContext()).newPage();
  await second.goto(`${door}/?api=${otherHost}`);
  assert.is(await connectedHost(second), otherHost, 'the second page is on the other API server');

  // Both pages show the same starting value, then the second sees the first's click pushed.
  await first.waitForFunction(() => document.getElementById('counter')!.textContent !== '–');
  const start = Number(await first.textContent('#counter'));
  await second.waitForFunction((value) => document.getElementById('counter')!.textContent === String(value), start);
  await first.click('#increment');
  await first.waitForFunction((value) => document.getElementById('counter')!.textContent === String(value), start + 1);
  await second.waitForFunction((value) => document.getElementById('counter')!.textContent === String(value), start + 1, { timeout: 10_000 });

  // Chat pushes travel the same way, the other direction.
  await second.fill('#chat-name', 'second');
  await second.fill('#chat-text', 'hello across servers');
  await second.click('#chat-send');
  await first.waitForSelector('#chat-log li:has-text("hello across servers")', { timeout: 10_000 });

  // Upload from the page: it asks the front door for an upload server, posts there.
  const bytes = randomBytes(300_000);
  await first.setInputFiles('#file', { name: 'report 2026.bin', mimeType: 'application/octet-stream', buffer: bytes });
  await first.waitForSelector('#download-link', { timeout: 20_000 });
  const link = (await first.getAttribute('#download-link', 'href'))!;
  assert.ok(link.startsWith(`${door}/__RF/sample/`), `download through the front door: ${link}`);
  assert.is(await first.getAttribute('#upload-progress', 'value'), '1');
  assert.ok(Number(await first.getAttribute('#upload-progress', 'data-events')) >= 1, 'progress was pushed through the upload room');
  assert.match((await first.textContent('#download-link'))!, /stored on upload1/);

  // The front door redirects to the upload server; the browser follows; the bytes are identical.
  const fetched = await second.evaluate(async (url) => {
    const response = await fetch(url);
    const buffer = new Uint8Array(await response.arrayBuffer());
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', buffer));
    return { status: response.status, redirected: response.redirected, finalUrl: response.url, size: buffer.length, sha256: Array.from(digest, (b) => b.toString(16).padStart(2, '0')).join('') };
  }, link);
  assert.is(fetched.status, 200);
  assert.ok(fetched.redirected, 'redirect followed');
  assert.ok(fetched.finalUrl.startsWith(`http://127.0.0.4:${WEB}/__RF/sample/`), fetched.finalUrl);
  assert.is(fetched.size, bytes.length);
  assert.is(fetched.sha256, createHash('sha256').update(bytes).digest('hex'));

  await first.screenshot({ path: join(artifacts, 'roles-browser-first.png'), fullPage: true });
  await second.screenshot({ path: join(artifacts, 'roles-browser-second.png'), fullPage: true });
  const view = await (await browser.newContext()).newPage();
  await view.goto(`${door}/__CLUSTER`);
  await view.waitForSelector('tr[data-server="api2"] td.up');
  await view.screenshot({ path: join(artifacts, 'roles-cluster-view.png'), fullPage: true });
});

test('the page reconnects by itself when its API server goes away', async () => {
  const page = await (await browser.newContext()).newPage();
  await page.goto(`${door}/?api=127.0.0.5:${WEB}`);
  await connectedHost(page);
  await cluster.servers.get('api2')!.stop();
  await page.waitForSelector('#state[data-state="connecting"]', { timeout: 10_000 });
  const restarted = cluster.start('api2');
  await page.waitForSelector('#state[data-state="connected"]', { timeout: 40_000 }).catch((error) => {
    throw new Error(`${error.message}\napi2 stderr: ${restarted.stderr.slice(-2000)}\nstdout: ${restarted.stdout.slice(-500)}\nstate: ${restarted.child.exitCode}`);
  });
  const before = Number(await page.textContent('#counter'));
  await page.click('#increment');
  await page.waitForFunction((value) => Number(document.getElementById('counter')!.textContent) > value, before);
});

test.run();
