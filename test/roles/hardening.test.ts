// Hostile input against real servers (issue 13): nothing a client sends may crash a worker,
// pollute a process, run script on the app origin, stall a worker or hold memory.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { request as httpRequest } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import { chromium } from 'playwright-core';
import WebSocket from 'ws';
import { repoRoot } from '../helpers/process-harness.js';
import { ClusterServers, waitClusterUp, writeConfig } from '../helpers/roles-cluster.js';

const WEB = 18620;
const servers = {
  h1: { host: '127.0.0.2', webPort: WEB, roles: ['front-door', 'api', 'upload'] },
  h2: { host: '127.0.0.3', webPort: WEB, roles: ['api'] },
};
const { path } = writeConfig({ clusteringPort: 18621, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample', 'hostile'], servers });
const boxes = [join(repoRoot, 'boxes'), join(repoRoot, 'test/fixtures/boxes')].join(':');
const cluster = new ClusterServers(path, { BOXWIRE_BOXES: boxes, BOXWIRE_WORKERS: '2', BOXWIRE_API_CALLS_PER_SECOND: '100', BOXWIRE_API_BURST: '200',
  BOXWIRE_HTTP_HEADERS_TIMEOUT_MS: '2000', BOXWIRE_HTTP_REQUEST_TIMEOUT_MS: '4000' });
const h1 = `http://127.0.0.2:${WEB}`;

/** A WebSocket API client that matches replies by id. */
class Client {
  readonly socket: WebSocket;
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextId = 1;
  private readonly waiting = new Map<unknown, (reply: any) => void>();

  constructor(host: string) {
    this.socket = new WebSocket(`ws://${host}:${WEB}/__API`);
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.socket.on('message', (raw) => {
      const message = JSON.parse(raw.toString());
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
  }

  call(box: string, method: string, data?: unknown): Promise<any> {
    const id = this.nextId++;
    const reply = new Promise((resolve) => this.waiting.set(id, resolve));
    this.socket.send(JSON.stringify({ id, box, method, data }));
    return reply;
  }
}

async function open(host = '127.0.0.2'): Promise<Client> {
  const client = new Client(host);
  await client.opened;
  return client;
}

/** Writes raw bytes to a server's web port and resolves with everything it answered before closing. */
function rawExchange(host: string, bytes: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(WEB, host);
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve(answer));
    socket.on('connect', () => socket.write(bytes));
  });
}

function crashes(): number {
  return [...cluster.servers.values()].reduce((n, server) => n + (server.stderr.match(/worker\.crashed/g)?.length ?? 0), 0);
}

test.before(async () => {
  cluster.start('h1');
  cluster.start('h2');
  await waitClusterUp(h1, Object.values(servers), 2);
});
test.after(() => cluster.stopAll());

test('1. an upgrade whose URL cannot be parsed gets 400 and crashes no worker (API server and front door)', async () => {
  const clients = await Promise.all([open('127.0.0.2'), open('127.0.0.2'), open('127.0.0.3'), open('127.0.0.3')]);
  const upgrade = (url: string) => `GET ${url} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n`;
  for (const host of ['127.0.0.2', '127.0.0.3']) {
    for (let i = 0; i < 6; i++) {
      const answer = await rawExchange(host, upgrade('//['));
      assert.match(answer, /^HTTP\/1\.1 400 /, `upgrade to //[ on ${host}: ${answer}`);
    }
    assert.match(await rawExchange(host, `GET //[ HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`), /^HTTP\/1\.1 400 /);
  }
  for (const client of clients) assert.is((await client.call('hostile', 'probe')).result.polluted, null, 'every WebSocket still answers');
  assert.is(crashes(), 0, 'no worker crashed');
  clients.forEach((c) => c.socket.close());
});

/** Opens WebSocket clients on `host` until `perServer` distinct worker pids answered the probe. */
async function probeWorkers(host: string, perServer = 2): Promise<Array<{ polluted: unknown; pollutedVia: unknown; pid: number }>> {
  const seen = new Map<number, any>();
  // node:cluster hands connections only to workers already listening: under load the second worker
  // may still be starting, so keep opening clients until both answered (or the deadline passes).
  const deadline = Date.now() + 30_000;
  while (seen.size < perServer && Date.now() < deadline) {
    const client = await open(host);
    const probe = (await client.call('hostile', 'probe')).result;
    seen.set(probe.pid, probe);
    client.socket.close();
  }
  assert.is(seen.size, perServer, `reached ${perServer} workers on ${host}`);
  return [...seen.values()];
}

test('2. prototype pollution: update paths, fields, filters and names through __proto__/constructor/prototype are refused; no process is polluted', async () => {
  const client = await open();
  assert.equal((await client.call('hostile', 'save', { id: 'p1', data: { n: 1, tags: [] } })).result, { n: 1, tags: [] });
  const updates: Array<Record<string, unknown>> = [
    { $inc: { '__proto__.polluted': 1 } },
    { $inc: { 'a.__proto__.polluted': 1 } },
    { $push: { '__proto__.polluted': 1 } },
    { $addToSet: { 'constructor.prototype.polluted': 1 } },
    { $pull: { '__proto__.polluted': 1 } },
    { '__proto__.polluted': 1 },
    { constructor: { prototype: { polluted: 1 } } },
  ];
  for (const data of updates) {
    const reply = await client.call('hostile', 'update', { id: 'p1', data });
    assert.is(reply.error?.code, 'BOXWIRE_UNSAFE_KEY', `update ${JSON.stringify(data)}: ${JSON.stringify(reply)}`);
    assert.is(reply.error.status, 400);
  }
  // A literal "__proto__" key, as JSON.parse makes it (an own property), in update and save data.
  const raw = (id: number, data: string) => `{"id":${id},"box":"hostile","method":"update","data":{"id":"p1","data":${data}}}`;
  for (const [i, data] of ['{"__proto__":{"polluted":1}}', '{"$inc":{"__proto__":{"polluted":1}}}', '{"x":{"__proto__":{"polluted":1}}}'].entries()) {
    const reply = await new Promise<any>((resolve) => {
      client.socket.once('message', (m) => resolve(JSON.parse(m.toString())));
      client.socket.send(raw(1000 + i, data));
    });
    assert.is(reply.error?.code, 'BOXWIRE_UNSAFE_KEY', `raw ${data}: ${JSON.stringify(reply)}`);
  }
  for (const filter of [{ '__proto__.polluted': 1 }, { constructor: { $exists: true } }, { $or: [{ 'a.prototype': 1 }] }]) {
    assert.is((await client.call('hostile', 'find', { filter })).error?.code, 'BOXWIRE_UNSAFE_KEY', `filter ${JSON.stringify(filter)}`);
  }
  for (const method of ['__proto__', 'constructor', 'hasOwnProperty']) {
    const reply = await client.call('hostile', method);
    assert.ok(['BOXWIRE_UNSAFE_KEY', 'UNKNOWN_METHOD'].includes(reply.error?.code), `method ${method}: ${JSON.stringify(reply)}`);
  }
  assert.is((await client.call('constructor', 'probe')).error?.code, 'BOXWIRE_UNSAFE_KEY');
  const join = await new Promise<any>((resolve) => {
    client.socket.once('message', (m) => resolve(JSON.parse(m.toString())));
    client.socket.send(JSON.stringify({ id: 2000, box: 'hostile', join: 'constructor' }));
  });
  assert.is(join.error?.code, 'BOXWIRE_UNSAFE_KEY', `join 'constructor': ${JSON.stringify(join)}`);
  // Every worker of both servers is clean, and ordinary updates still work.
  for (const host of ['127.0.0.2', '127.0.0.3']) {
    for (const probe of await probeWorkers(host)) assert.equal([probe.polluted, probe.pollutedVia], [null, null], `worker ${probe.pid} on ${host}`);
  }
  assert.equal((await client.call('hostile', 'update', { id: 'p1', data: { $inc: { n: 1 }, $push: { tags: 'x' } } })).result, { n: 2, tags: ['x'] });
  client.socket.close();
});

test('3. uploads of active types (html, svg, xml, xhtml, js) are attachments under a sandboxing CSP with nosniff; images stay inline', async () => {
  const files = [
    { name: 'x.html', type: 'text/html', active: true },
    { name: 'x.svg', type: 'image/svg+xml', active: true },
    { name: 'x.xml', type: 'text/xml', active: true },
    { name: 'x.xhtml', type: 'application/xhtml+xml', active: true },
    { name: 'x.js', type: 'text/javascript', active: true },
    { name: 'x.txt', type: 'TEXT/HTML; charset=utf-8', active: true },
    { name: 'noext', type: 'application/octet-stream', active: false },
    { name: 'x.png', type: 'image/png', active: false },
  ];
  const form = new FormData();
  for (const f of files) form.append('file', new Blob(['<script>parent.stolen = document.cookie</script>'], { type: f.type }), f.name);
  const response = await fetch(`${h1}/__UPLOAD?box=hostile`, { method: 'POST', body: form });
  assert.is(response.status, 201);
  const stored = (await response.json()).files as Array<{ id: string; name: string; type: string }>;
  for (const [i, f] of files.entries()) {
    const download = await fetch(`${h1}/__RF/hostile/${stored[i].id}`);
    await download.arrayBuffer();
    const disposition = download.headers.get('content-disposition')!;
    const csp = download.headers.get('content-security-policy') ?? '';
    assert.is(download.headers.get('x-content-type-options'), 'nosniff', f.name);
    assert.match(csp, /(^|;\s*)sandbox(;|$)/, `${f.name}: CSP ${csp}`);
    assert.match(csp, /default-src 'none'/, `${f.name}: CSP ${csp}`);
    if (f.active) assert.match(disposition, /^attachment;/, `${f.name} (${f.type}) is served ${disposition}`);
  }
  const png = await fetch(`${h1}/__RF/hostile/${stored[files.length - 1].id}`);
  assert.match(png.headers.get('content-disposition')!, /^inline;/);
  assert.is(png.headers.get('content-type'), 'image/png');
});

/** Resolves with the promise's value, or rejects when it takes longer than `ms` (the bound under test). */
function within<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)));
  return Promise.race([promise, late]).finally(() => clearTimeout(timer));
}

test('4. ReDoS: a catastrophic $regex from a client answers at once and no worker stalls; unsupported syntax is refused', async () => {
  const client = await open();
  await client.call('hostile', 'save', { id: 'r1', data: { name: 'a'.repeat(34) + '!' } });
  await client.call('hostile', 'save', { id: 'r2', data: { name: 'aaa' } });
  const found = await within(client.call('hostile', 'find', { filter: { name: { $regex: '(a+)+$' } } }), 5000, 'find (a+)+$');
  assert.equal(found.result.ids, ['r2']);
  const nested = await within(client.call('hostile', 'find', { filter: { $or: [{ name: { $regex: '^(a|a)*$', $options: 'i' } }] } }), 5000, 'find (a|a)*');
  assert.equal(nested.result.ids, ['r2']);
  assert.is((await client.call('hostile', 'find', { filter: { name: { $regex: '^A', $options: 'i' } } })).result.ids.length, 2, 'ordinary regex filters still work');
  const refused = await client.call('hostile', 'find', { filter: { name: { $regex: '(a)\\1' } } });
  assert.is(refused.error?.code, 'BOXWIRE_STORE_FILTER');
  assert.match(refused.error.message, /linear-time/);
  client.socket.close();
});

test('9. msgpack from API clients: plain maps, arrays and scalars reach box code; extension types (RegExp, Set, Error, Date, bigint) are BAD_MESSAGE', async () => {
  const plain = new Packr({ useRecords: false });
  const rich = new Packr({ useRecords: false, moreTypes: true });
  const socket = new WebSocket(`ws://127.0.0.2:${WEB}/__API?format=msgpack`);
  await new Promise((resolve) => socket.once('open', resolve));
  const call = (bytes: Buffer) => new Promise<any>((resolve) => {
    socket.once('message', (raw) => resolve(plain.unpack(raw as Buffer)));
    socket.send(bytes);
  });
  const ok = await call(plain.pack({ id: 1, box: 'hostile', method: 'kinds', data: { list: [1, 2], map: { a: 1 }, s: 'x', n: 1.5, bin: Buffer.from('hi') } }));
  assert.equal(ok.result.values, { list: 'Array', map: 'Object', s: 'string', n: 'number', bin: 'Buffer' });
  for (const value of [/a+/, new Set([1]), new Error('boom'), new Date(0), 10n ** 300n, new Uint16Array(4)]) {
    const reply = await call(rich.pack({ id: 2, box: 'hostile', method: 'kinds', data: { value } }));
    assert.is(reply.error?.code, 'BAD_MESSAGE', `${Object.prototype.toString.call(value)}: ${JSON.stringify(reply.result ?? reply.error)}`);
  }
  socket.close();
  const http = await fetch(`${h1}/__API/hostile/kinds`, { method: 'POST', headers: { 'content-type': 'application/msgpack' }, body: new Uint8Array(rich.pack({ value: /x/ })) });
  assert.is(http.status, 400);
  assert.is(plain.unpack(Buffer.from(await http.arrayBuffer())).error.code, 'BAD_MESSAGE');
  const fine = await fetch(`${h1}/__API/hostile/kinds`, { method: 'POST', headers: { 'content-type': 'application/msgpack' }, body: new Uint8Array(plain.pack({ a: [1] })) });
  assert.equal(plain.unpack(Buffer.from(await fine.arrayBuffer())).result.values, { a: 'Array' });
});

/** Sends `bytes` and never more; resolves with what the server answered and how long it kept the socket. */
function halfSent(host: string, bytes: string): Promise<{ answer: string; heldMs: number }> {
  return new Promise((resolve, reject) => {
    const socket = connect(WEB, host);
    const started = Date.now();
    let answer = '';
    socket.setEncoding('utf8');
    socket.on('data', (chunk) => (answer += chunk));
    socket.on('error', reject);
    socket.on('close', () => resolve({ answer, heldMs: Date.now() - started }));
    socket.on('connect', () => socket.write(bytes));
  });
}

test('10. half-sent requests are closed at the HTTP deadlines (headers, body) instead of after minutes', async () => {
  const [headers, body, silent] = await within(Promise.all([
    halfSent('127.0.0.2', 'GET /__CHECK_ALIVE HTTP/1.1\r\nHost: x\r\nX-Slow: '),
    halfSent('127.0.0.3', 'POST /__API/hostile/probe HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{"a":'),
    halfSent('127.0.0.3', ''),
  ]), 20_000, 'half-sent requests closed');
  assert.ok(headers.heldMs >= 1500, `headers: closed after ${headers.heldMs} ms (deadline 2000 ms)`);
  assert.ok(body.heldMs >= 3500, `body: closed after ${body.heldMs} ms (deadline 4000 ms)`);
  assert.match(body.answer, /^HTTP\/1\.1 408 |^$/, body.answer);
  assert.ok(silent.heldMs >= 1500, `a silent connection is held until the headers deadline: ${silent.heldMs} ms`);
});

test('7. a WebSocket client that keeps hammering past the rate limit is closed with 1008', async () => {
  const client = await open('127.0.0.3');
  let limited = 0;
  client.socket.on('message', (raw) => {
    if (JSON.parse(raw.toString()).error?.code === 'RATE_LIMITED') limited++;
  });
  // Limit 100/s, burst 200: cut off after 10 × burst refusals without a quiet second.
  const message = JSON.stringify({ id: 1, box: 'hostile', method: 'probe' });
  for (let i = 0; i < 6000 && client.socket.readyState === WebSocket.OPEN; i++) client.socket.send(message);
  const closed = await within(client.closed, 15_000, 'close after hammering');
  assert.is(closed.code, 1008, `closed with ${closed.code} ${closed.reason} after ${limited} RATE_LIMITED replies`);
  assert.ok(limited >= 2000, `${limited} RATE_LIMITED replies before the close`);
});

/** One HTTP API call from `localAddress` on a fresh connection (so node:cluster spreads them over the workers). */
function callFrom(localAddress: string, host: string): Promise<{ status: number; pid?: number }> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port: WEB, localAddress, method: 'POST', path: '/__API/hostile/probe', agent: false, headers: { 'content-type': 'application/json', connection: 'close' } }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (chunk) => (body += chunk));
      res.on('end', () => resolve({ status: res.statusCode!, pid: JSON.parse(body).result?.pid }));
    });
    req.on('error', reject);
    req.end('{}');
  });
}

test('8. the HTTP rate limit holds per client address across all workers of a server', async () => {
  // Limit 100/s, burst 200 per address; h2 runs 2 workers. One address, many connections.
  const total = 700;
  let next = 0;
  const statuses: number[] = [];
  const pids = new Set<number>();
  const started = Date.now();
  await Promise.all(Array.from({ length: 16 }, async () => {
    while (next < total) {
      next++;
      const { status, pid } = await callFrom('127.0.0.9', '127.0.0.3');
      statuses.push(status);
      if (pid) pids.add(pid);
    }
  }));
  const seconds = (Date.now() - started) / 1000;
  const answered = statuses.filter((s) => s === 200).length;
  const limited = statuses.filter((s) => s === 429).length;
  const allowed = 200 + 100 * seconds;
  assert.is(answered + limited, total, `statuses: ${[...new Set(statuses)]}`);
  assert.ok(answered <= allowed + 20, `${answered} calls answered in ${seconds.toFixed(2)} s; the limit allows ${allowed.toFixed(0)} (+20 slack)`);
  assert.ok(answered >= 200, `the burst is served: ${answered}`);
  assert.is(pids.size, 2, 'both workers answered calls (otherwise the check above would prove nothing)');
});

test('2b. config: keys and server names through __proto__/constructor/prototype are refused with a clear error', async () => {
  const { parseClusterConfig, ConfigValidationError } = await import('../../src/config/index.js');
  const base = '"clusteringPort": 18700, "servers": { "a": { "host": "127.0.0.2", "webPort": 18701 } }';
  for (const text of [`{ ${base}, "__proto__": { "polluted": 1 } }`, `{ "clusteringPort": 18700, "servers": { "constructor": { "host": "127.0.0.2", "webPort": 18701 } } }`, `{ ${base}, "redis": { "prototype": {} } }`]) {
    try {
      parseClusterConfig(JSON.parse(text));
      assert.unreachable(`accepted ${text}`);
    } catch (error) {
      assert.instance(error, ConfigValidationError, text);
      assert.match((error as Error).message, /__proto__|constructor|prototype/);
    }
  }
  assert.is(({} as Record<string, unknown>).polluted, undefined);
});

test('3b. in Chromium: uploaded HTML, SVG and HTML-declared-as-text never run script on the app origin', async () => {
  const script = (tag: string) => `<script>fetch('/__API/hostile/save',{method:'POST',headers:{'content-type':'application/json'},body:JSON.stringify({id:'xss-${tag}',data:{cookie:document.cookie}})})</script>`;
  const files = [
    { name: 'evil.html', type: 'text/html', body: `<html><body>${script('html')}</body></html>` },
    { name: 'evil.svg', type: 'image/svg+xml', body: `<svg xmlns="http://www.w3.org/2000/svg">${script('svg')}</svg>` },
    { name: 'evil.txt', type: 'text/plain', body: `<html><body>${script('txt')}</body></html>` },
  ];
  const form = new FormData();
  for (const f of files) form.append('file', new Blob([f.body], { type: f.type }), f.name);
  const stored = (await (await fetch(`${h1}/__UPLOAD?box=hostile`, { method: 'POST', body: form })).json()).files as Array<{ id: string }>;
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
  try {
    const context = await browser.newContext();
    await context.addCookies([{ name: 'session', value: 'secret', url: h1 }]);
    const page = await context.newPage();
    for (const [i, f] of files.entries()) {
      const url = `${h1}/__RF/hostile/${stored[i].id}`;
      const outcome = await page.goto(url, { waitUntil: 'load' }).then(() => 'rendered', (error: Error) => error.message);
      if (f.type === 'text/plain') {
        assert.is(outcome, 'rendered');
        assert.is(await page.evaluate(() => document.contentType), 'text/plain', 'shown as text, not parsed as HTML');
        assert.match(await page.evaluate(() => document.body.innerText), /<script>/);
      } else {
        assert.match(outcome, /Download is starting|ERR_ABORTED/, `${f.name}: ${outcome}`);
      }
    }
  } finally {
    await browser.close();
  }
  // No script reached the API from any of them.
  const client = await open();
  const found = await client.call('hostile', 'find', { filter: { cookie: { $exists: true } } });
  assert.equal(found.result.ids, []);
  client.socket.close();
});

test('6b. log lines a client can trigger (a failing method, over and over) are rate-limited', async () => {
  const server = cluster.servers.get('h2')!;
  const count = () => server.stderr.split('\n').filter((line) => line.includes('api.method_failed')).length;
  const before = count();
  const client = await open('127.0.0.3');
  const replies = await Promise.all(Array.from({ length: 150 }, () => client.call('hostile', 'crash')));
  assert.ok(replies.every((r) => r.error?.status === 500));
  // Wait for the first lines to arrive through the stderr pipe, then for a "suppressed" count or the end of the window.
  await server.until(() => (count() - before >= 1 ? true : undefined), 10_000, () => 'first api.method_failed line');
  await server.until(() => (server.stderr.split('\n').some((line) => line.includes('api.method_failed') && line.includes('"suppressed"')) ? true : undefined), 20_000, () => 'the suppressed count');
  const lines = server.stderr.split('\n').filter((line) => line.includes('api.method_failed')).slice(before);
  const suppressed = lines.reduce((n, line) => n + (JSON.parse(line).suppressed ?? 0), 0);
  assert.ok(lines.length <= 22, `${lines.length} lines for 150 failures`);
  assert.is(lines.length - lines.filter((l) => l.includes('suppressed')).length + suppressed, 150, 'every failure is either logged or counted');
  client.socket.close();
});

test.run();
