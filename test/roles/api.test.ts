// The API role: box methods over WebSocket (JSON and msgpack) and HTTP, errors, hooks, rooms
// across two API servers, and bad input that must never crash a server.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { Packr } from 'msgpackr';
import WebSocket from 'ws';
import { repoRoot } from '../helpers/process-harness.js';
import { ClusterServers, waitClusterUp, writeConfig } from '../helpers/roles-cluster.js';

const WEB = 18510;
const servers = {
  api1: { host: '127.0.0.2', webPort: WEB, roles: ['front-door', 'api'] },
  api2: { host: '127.0.0.3', webPort: WEB, roles: ['api'] },
};
const { path } = writeConfig({ clusteringPort: 18511, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample', 'guarded'], servers });
const boxes = [join(repoRoot, 'boxes'), join(repoRoot, 'test/fixtures/boxes')].join(':');
const cluster = new ClusterServers(path, {
  BOXWIRE_BOXES: boxes, BOXWIRE_WORKERS: '2', BOXWIRE_API_MAX_MESSAGE_KB: '64', BOXWIRE_API_CALLS_PER_SECOND: '50', BOXWIRE_API_BURST: '50',
});
const api1 = `http://127.0.0.2:${WEB}`;
const packr = new Packr({ useRecords: false });
let pidsBefore: unknown;

/** A WebSocket client that matches replies by id and collects pushes. */
class Client {
  readonly socket: WebSocket;
  readonly pushes: any[] = [];
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;
  private nextId = 1;
  private waiting = new Map<unknown, (reply: any) => void>();
  private pushWaiters: Array<() => void> = [];

  constructor(host: string, readonly binary = false, query = '', headers: Record<string, string> = {}) {
    this.socket = new WebSocket(`ws://${host}:${WEB}/__API${query}`, { headers });
    this.opened = new Promise((resolve, reject) => {
      this.socket.once('open', () => resolve());
      this.socket.once('error', reject);
    });
    this.closed = new Promise((resolve) => this.socket.once('close', (code, reason) => resolve({ code, reason: reason.toString() })));
    this.socket.on('message', (raw, isBinary) => {
      const message = isBinary ? packr.unpack(raw as Buffer) : JSON.parse(raw.toString());
      if (message.room !== undefined && message.id === undefined) {
        this.pushes.push(message);
        this.pushWaiters.splice(0).forEach((wake) => wake());
        return;
      }
      this.waiting.get(message.id)?.(message);
      this.waiting.delete(message.id);
    });
  }

  send(message: Record<string, unknown>): Promise<any> {
    const id = message.id ?? this.nextId++;
    const reply = new Promise((resolve) => this.waiting.set(id, resolve));
    const full = { ...message, id };
    this.socket.send(this.binary ? packr.pack(full) : JSON.stringify(full));
    return reply;
  }

  call(box: string, method: string, data?: unknown): Promise<any> {
    return this.send({ box, method, data });
  }

  async waitPush(predicate: (push: any) => boolean, timeoutMs = 10_000): Promise<any> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.pushes.find(predicate);
      if (found) return found;
      if (Date.now() > deadline) throw new Error(`no matching push; got ${JSON.stringify(this.pushes)}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 500);
        this.pushWaiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  close(): void {
    this.socket.close();
  }
}

async function open(host: string, binary = false, query = '', headers: Record<string, string> = {}): Promise<Client> {
  const client = new Client(host, binary, query, headers);
  await client.opened;
  return client;
}

test.before(async () => {
  cluster.start('api1');
  cluster.start('api2');
  await waitClusterUp(api1, Object.values(servers), 2);
  pidsBefore = (await (await fetch(`${api1}/__STATUS`)).json()).servers.map((s: any) => s.detail.workers.pids);
});
test.after(() => cluster.stopAll());

test('WebSocket JSON: call, reply, errors as { code, message, status }', async () => {
  const client = await open('127.0.0.2');
  const before = (await client.call('sample', 'getCounter')).result;
  assert.is(typeof before, 'number');
  assert.is((await client.call('sample', 'increment', { by: 5 })).result, before + 5);
  const unknownBox = await client.call('nope', 'x');
  assert.equal(unknownBox.error.code, 'UNKNOWN_BOX');
  assert.is(unknownBox.error.status, 404);
  assert.is((await client.call('sample', 'nope')).error.code, 'UNKNOWN_METHOD');
  assert.is((await client.call('sample', 'say', {})).error.code, 'BAD_INPUT');
  client.close();
});

test('WebSocket msgpack: binary frames in, binary replies out', async () => {
  const client = await open('127.0.0.3', true, '?token=user-token');
  const data = { list: [1, 2, 3], nested: { s: 'héllo' }, bytes: Buffer.from([1, 2, 3]) };
  const reply = await client.call('guarded', 'echo', data);
  assert.equal(reply.result.list, [1, 2, 3]);
  assert.is(reply.result.nested.s, 'héllo');
  assert.ok(Buffer.from(reply.result.bytes).equals(Buffer.from([1, 2, 3])));
  client.close();
});

test('HTTP POST /__API/<box>/<method>: JSON and msgpack bodies, 404 JSON errors, 405', async () => {
  const json = await fetch(`${api1}/__API/guarded/whoami`, { method: 'POST', headers: { 'x-token': 'admin-token' } });
  assert.is(json.status, 200);
  assert.is(json.headers.get('access-control-allow-origin'), '*', 'pages on the front door may call it');
  assert.equal(await json.json(), { result: { user: { name: 'admin' }, transport: 'http' } });
  const preflight = await fetch(`${api1}/__API/guarded/whoami`, { method: 'OPTIONS' });
  assert.is(preflight.status, 204);
  assert.match(preflight.headers.get('access-control-allow-methods')!, /POST/);
  const packed = await fetch(`${api1}/__API/guarded/echo?token=user-token`, { method: 'POST', headers: { 'Content-Type': 'application/msgpack' }, body: new Uint8Array(packr.pack({ a: 1 })) });
  assert.is(packed.headers.get('content-type'), 'application/msgpack');
  assert.equal(packr.unpack(Buffer.from(await packed.arrayBuffer())), { result: { a: 1 } });
  const missing = await fetch(`${api1}/__API/sample/nope`, { method: 'POST' });
  assert.is(missing.status, 404);
  assert.is((await missing.json()).error.code, 'UNKNOWN_METHOD');
  assert.is((await fetch(`${api1}/__API/nobox/x`, { method: 'POST' })).status, 404);
  for (const path of ['/__API/sample', '/__API/sample/', '/__API//getCounter', '/__API/sample/getCounter/extra', '/__API/sample/getCounter/?x=1']) {
    const response = await fetch(`${api1}${path}`, { method: 'POST' });
    assert.is(response.status, 404, path);
    assert.is((await response.json()).error.code, 'UNKNOWN_METHOD', path);
  }
  const encoded = await fetch(`${api1}/__API/%73ample/getCounter?x=%20`, { method: 'POST' });
  assert.is(encoded.status, 200, 'percent-encoded names and a query are fine');
  assert.is((await fetch(`${api1}/__API/sample/getCounter`)).status, 405);
  const bad = await fetch(`${api1}/__API/guarded/echo?token=user-token`, { method: 'POST', body: '{not json' });
  assert.is(bad.status, 400);
  assert.is((await bad.json()).error.code, 'BAD_MESSAGE');
});

test('hooks: authenticate refuses unknown clients, authorize refuses a method, rooms check onJoin', async () => {
  const stranger = await open('127.0.0.2');
  const refused = await stranger.call('guarded', 'whoami');
  assert.is(refused.error.code, 'UNAUTHENTICATED');
  assert.match(refused.error.message, /unknown token/);
  stranger.close();
  const alice = await open('127.0.0.2', false, '?token=user-token');
  assert.equal((await alice.call('guarded', 'whoami')).result.user, { name: 'alice' });
  assert.is((await alice.call('guarded', 'adminOnly')).error.code, 'FORBIDDEN');
  assert.is((await alice.send({ box: 'guarded', join: 'vip' })).error.code, 'FORBIDDEN');
  assert.is((await alice.send({ box: 'guarded', join: 'nosuchroom' })).error.code, 'UNKNOWN_ROOM');
  alice.close();
  const admin = await open('127.0.0.3', false, '', { 'x-token': 'admin-token' });
  assert.is((await admin.call('guarded', 'adminOnly')).result, 'secret');
  assert.is((await admin.send({ box: 'guarded', join: 'vip' })).result, true);
  admin.close();
  const http = await fetch(`${api1}/__API/guarded/adminOnly?token=user-token`, { method: 'POST' });
  assert.is(http.status, 403);
});

test('method errors: a thrown error with code/status, an unexpected error, an unencodable result', async () => {
  const client = await open('127.0.0.2', false, '?token=user-token');
  assert.equal((await client.call('guarded', 'fail')).error, { status: 409, code: 'ALWAYS_FAILS', message: 'this method always fails' });
  assert.equal((await client.call('guarded', 'crash')).error, { status: 500, code: 'METHOD_FAILED', message: 'unexpected bug' });
  assert.is((await client.call('guarded', 'cycle')).error.code, 'UNENCODABLE_RESULT');
  assert.is((await client.call('guarded', 'echo', 1)).result, 1, 'the connection still works');
  client.close();
});

test('rooms across servers: a push from api2 reaches members on api1 and api2 (JSON and msgpack clients)', async () => {
  const onApi1 = await open('127.0.0.2');
  const onApi1Packed = await open('127.0.0.2', true);
  const onApi2 = await open('127.0.0.3');
  for (const c of [onApi1, onApi1Packed, onApi2]) assert.is((await c.send({ box: 'sample', join: 'chat' })).result, true);
  const line = (await onApi2.call('sample', 'say', { name: 'bob', text: 'hello from api2' })).result;
  assert.is(line.text, 'hello from api2');
  for (const c of [onApi1, onApi1Packed, onApi2]) {
    const push = await c.waitPush((p) => p.room === 'chat' && p.data.text === 'hello from api2');
    assert.equal(push, { box: 'sample', room: 'chat', event: 'line', data: line });
  }
  // A client that left gets nothing more; the others still do.
  assert.is((await onApi1.send({ box: 'sample', leave: 'chat' })).result, true);
  await onApi1Packed.call('sample', 'say', { name: 'eve', text: 'second' });
  await onApi2.waitPush((p) => p.data.text === 'second');
  await onApi1Packed.waitPush((p) => p.data.text === 'second');
  // The push that proves delivery went through every server was seen; onApi1 must not have it.
  const marker = await onApi2.call('sample', 'say', { name: 'x', text: 'marker' });
  await onApi1Packed.waitPush((p) => p.data.text === 'marker');
  assert.ok(marker.result);
  assert.not.ok(onApi1.pushes.some((p) => p.data.text === 'second' || p.data.text === 'marker'));
  for (const c of [onApi1, onApi1Packed, onApi2]) c.close();
});

test('malformed messages get BAD_MESSAGE replies; the connection stays usable', async () => {
  const client = await open('127.0.0.2');
  const replies: any[] = [];
  client.socket.on('message', (raw, isBinary) => replies.push(isBinary ? packr.unpack(raw as Buffer) : JSON.parse(raw.toString())));
  for (const junk of ['{oops', '[1,2]', '42', 'null']) client.socket.send(junk);
  client.socket.send(Buffer.from([0x2a]), { binary: true }); // msgpack 42: not an object
  client.socket.send(Buffer.from([0x81]), { binary: true }); // a map cut short
  assert.is((await client.call('sample', 'getCounter')).error, undefined);
  const deadline = Date.now() + 5000;
  while (replies.filter((r) => r.error?.code === 'BAD_MESSAGE').length < 6 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(replies.filter((r) => r.error?.code === 'BAD_MESSAGE' && r.id === null).length === 6, JSON.stringify(replies));
  client.close();
});

test('oversized WebSocket message: the connection is closed with 1009; HTTP answers 413', async () => {
  const client = await open('127.0.0.2');
  client.socket.send(JSON.stringify({ id: 1, box: 'sample', method: 'say', data: { text: 'x'.repeat(70 * 1024) } }));
  const { code } = await client.closed;
  assert.is(code, 1009);
  const http = await fetch(`${api1}/__API/sample/say`, { method: 'POST', body: JSON.stringify({ text: 'x'.repeat(70 * 1024) }) });
  assert.is(http.status, 413);
  assert.is((await http.json()).error.code, 'TOO_LARGE');
});

test('rate limit: calls past the burst get RATE_LIMITED replies, then the client may continue', async () => {
  const client = await open('127.0.0.3', false, '?token=user-token');
  const replies = await Promise.all(Array.from({ length: 150 }, (_, i) => client.call('guarded', 'echo', i)));
  const limited = replies.filter((r) => r.error?.code === 'RATE_LIMITED');
  const served = replies.filter((r) => r.error === undefined);
  assert.ok(limited.length >= 50, `${limited.length} limited`);
  assert.ok(served.length >= 50, `${served.length} served`);
  assert.is(limited[0].error.status, 429);
  // The bucket refills at 50/s: one call a little later succeeds.
  await new Promise((r) => setTimeout(r, 200));
  assert.is((await client.call('guarded', 'echo', 'again')).result, 'again');
  client.close();
});

test('after all that abuse no worker restarted', async () => {
  const pidsAfter = (await (await fetch(`${api1}/__STATUS`)).json()).servers.map((s: any) => s.detail.workers.pids);
  assert.equal(pidsAfter, pidsBefore);
  assert.not.match(cluster.servers.get('api1')!.stderr + cluster.servers.get('api2')!.stderr, /worker\.crashed/);
});

test('graceful stop: connected clients get 1001 at once, the server exits well within its grace period', async () => {
  const client = await open('127.0.0.3');
  assert.is((await client.send({ box: 'sample', join: 'chat' })).result, true);
  const server = cluster.servers.get('api2')!;
  const started = Date.now();
  server.kill('SIGTERM');
  const { code } = await client.closed;
  assert.is(code, 1001);
  const exit = await server.exited;
  assert.is(exit.code, 0);
  assert.ok(Date.now() - started < 5000, `stopped in ${Date.now() - started} ms`);
});

test.run();
