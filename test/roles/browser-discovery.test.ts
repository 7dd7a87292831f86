// The sample page in headless Chromium when discovery fails: a front door whose only API server
// is down answers /__SOCKET_SERVER_HOST with 503. The client emits 'error' with the reason, keeps
// retrying (the attempt count grows), the page shows it, and nothing is left uncaught; once the
// API server starts the page connects by itself. Then: two anonymous guests on one worker get
// different names, and the pages declare an icon that loads (no /favicon.ico 404).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '../helpers/process-harness.js';
import { freePort } from '../helpers/server-driver.js';
import { ClusterServers, waitHttp, writeConfig } from '../helpers/roles-cluster.js';

const hosts = { door: '127.0.0.2', api1: '127.0.0.3' };
let cluster: ClusterServers;
let browser: Browser;
let door: string;

test.before(async () => {
  const webPort = await freePort(Object.values(hosts));
  const clusteringPort = await freePort(Object.values(hosts));
  door = `http://${hosts.door}:${webPort}`;
  const { path } = writeConfig({
    clusteringPort, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'],
    servers: { door: { host: hosts.door, webPort, roles: ['front-door'] }, api1: { host: hosts.api1, webPort, roles: ['api'] } },
  });
  cluster = new ClusterServers(path);
  cluster.start('door');
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  await waitHttp(`${door}/__CHECK_ALIVE`, (status) => (status === 200 ? true : undefined), 40_000);
});
test.after(async () => {
  await browser?.close();
  await cluster?.stopAll();
});

interface Watched { page: Page; uncaught: string[]; failedResponses: string[] }

async function openPage(url: string): Promise<Watched> {
  const page = await (await browser.newContext()).newPage();
  const watched: Watched = { page, uncaught: [], failedResponses: [] };
  page.on('pageerror', (error) => watched.uncaught.push(error.message));
  page.on('response', (response) => {
    if (response.status() >= 400) watched.failedResponses.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
  await page.goto(url);
  return watched;
}

test('discovery fails: the page shows the reason, keeps retrying visibly, then connects by itself', async () => {
  const first = await openPage(`${door}/`);
  const { page } = first;
  await page.waitForSelector('#state[data-state="connecting"][data-reason]', { timeout: 20_000 });
  const text = (await page.textContent('#state'))!;
  assert.match(text, /cannot connect: .*\/__SOCKET_SERVER_HOST answered 503 NO_LIVE_SERVER: no live server holds the api role/, text);
  assert.match(text, /retrying in \d+(\.\d)? s \(attempt \d+\)/, text);
  assert.is(await page.getAttribute('#state', 'data-reason'), 'NO_LIVE_SERVER');
  assert.ok(await page.isDisabled('#increment'), 'buttons stay disabled while not connected');
  // Still retrying: later attempts are shown.
  await page.waitForSelector('#state[data-attempt="3"]', { timeout: 20_000 });
  mkdirSync(join(repoRoot, 'test-artifacts'), { recursive: true });
  await page.screenshot({ path: join(repoRoot, 'test-artifacts', 'sample-discovery-failing.png') });

  // The 'error' event carries the reason to any listener, not only the page's.
  const seen = await page.evaluate(() => new Promise<{ code: string; attempt: number; retryInMs: number; message: string }>((resolve) => {
    const off = (window as any).bw.on('error', (error: any) => {
      off();
      resolve({ code: error.code, attempt: error.attempt, retryInMs: error.retryInMs, message: error.message });
    });
  }));
  assert.is(seen.code, 'NO_LIVE_SERVER');
  assert.ok(seen.attempt >= 4 && seen.retryInMs > 0, JSON.stringify(seen));

  cluster.start('api1');
  await page.waitForSelector('#state[data-state="connected"]', { timeout: 60_000 });
  assert.is(await page.getAttribute('#state', 'data-reason'), null);
  await page.waitForFunction(() => document.getElementById('counter')!.textContent !== '–');
  assert.equal(first.uncaught, [], 'no uncaught errors in the page');
  assert.ok(first.failedResponses.length > 0 && first.failedResponses.every((r) => r === '503 /__SOCKET_SERVER_HOST'), first.failedResponses.join(', '));
});

test('discovery failing on the network (no answer at all): the reason shows, then it connects', async () => {
  const page = await (await browser.newContext()).newPage();
  const uncaught: string[] = [];
  page.on('pageerror', (error) => uncaught.push(error.message));
  let aborted = 0;
  await page.route('**/__SOCKET_SERVER_HOST', (route) => (aborted++ < 2 ? route.abort('connectionrefused') : route.continue()));
  await page.goto(`${door}/`);
  await page.waitForSelector('#state[data-reason="DISCOVERY_FAILED"]', { timeout: 20_000 });
  assert.match((await page.textContent('#state'))!, /cannot connect: http:\S+\/__SOCKET_SERVER_HOST failed: .+ — retrying in/);
  await page.waitForSelector('#state[data-state="connected"]', { timeout: 30_000 });
  assert.is(aborted, 3, 'two refused, the third went through');
  assert.equal(uncaught, []);
});

test('two anonymous guests get different names; the icon loads and nothing answers 404', async () => {
  const pages = [await openPage(`${door}/`), await openPage(`${door}/`)];
  for (const { page } of pages) await page.waitForSelector('#state[data-state="connected"]', { timeout: 30_000 });
  const [a, b] = pages.map((w) => w.page);
  const text = `anonymous hello ${Date.now()}`;
  await a.fill('#chat-text', `${text} a`);
  await a.click('#chat-send');
  await b.fill('#chat-text', `${text} b`);
  await b.click('#chat-send');
  const nameOf = async (suffix: string) => {
    const item = a.locator('#chat-log li', { hasText: `${text} ${suffix}` });
    await item.waitFor({ timeout: 10_000 });
    return (await item.locator('b').textContent())!;
  };
  const [nameA, nameB] = [await nameOf('a'), await nameOf('b')];
  assert.match(nameA, /^guest-\S+$/);
  assert.match(nameB, /^guest-\S+$/);
  assert.is.not(nameA, nameB, 'each guest has a name of its own');

  // The page declares its icon (so browsers do not ask for /favicon.ico), and it loads.
  for (const path of ['/', '/__CLUSTER']) {
    const { page, failedResponses } = await openPage(`${door}${path}`);
    const href = await page.getAttribute('link[rel="icon"]', 'href');
    assert.ok(href, `${path} declares an icon`);
    const loaded = await page.evaluate((url) => new Promise<boolean>((resolve) => {
      const img = new Image();
      img.onload = () => resolve(img.naturalWidth > 0);
      img.onerror = () => resolve(false);
      img.src = url;
    }), href!);
    assert.ok(loaded, `${path}: icon ${href} loads`);
    assert.equal(failedResponses, [], `${path}: no failed requests`);
  }
  // Anything that still asks for /favicon.ico the old way gets an icon too.
  const ico = await fetch(`${door}/favicon.ico`);
  assert.is(ico.status, 200);
  assert.match(ico.headers.get('content-type')!, /icon/);
  for (const { uncaught } of pages) assert.equal(uncaught, []);
});

test.run();
