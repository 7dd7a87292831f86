// Security: real servers M and N share a key; the test plays other cluster members ('A' sorts
// before M, so M accepts its dials; 'Z' sorts after, so M dials it) with its own handshake code,
// and raw clients that skip or break the protocol. Then TLS with certificates made by openssl.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket, { WebSocketServer } from 'ws';
import { encode } from '../../src/core/codec.js';
import { Channel, Kind, encodeEnvelope } from '../../src/core/envelope.js';
import { FrameBuilder } from '../../src/core/frame.js';
import { ANY_WORKER } from '../../src/core/envelope.js';
import { HandshakeError, acceptHandshake, dialHandshake } from '../../src/server/handshake.js';
import { ServerNode, freePort, stopAll } from '../helpers/server-driver.js';

const KEY = 'correct-horse-battery-staple-0123456789';
const hosts = { A: '127.0.0.4', M: '127.0.0.2', N: '127.0.0.3', Z: '127.0.0.5' };
let port: number;
let M: ServerNode, N: ServerNode;
const cleanup: Array<() => unknown> = [];

test.before(async () => {
  port = await freePort(['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5']);
  M = new ServerNode('M', { name: 'M', hosts, port, workers: 0, key: KEY });
  N = new ServerNode('N', { name: 'N', hosts, port, workers: 0, key: KEY });
  await Promise.all([M.ready(), N.ready()]);
  await M.linkedTo('N');
});
test.after(async () => {
  for (const fn of cleanup) await fn();
  await stopAll([M, N]);
});

/** A frame carrying one 'hey' message for any worker, as a member would send it. */
function heyFrame(tag: string): Buffer {
  const builder = new FrameBuilder();
  builder.add(ANY_WORKER, encodeEnvelope({ kind: Kind.Message, channel: Channel.Server, method: 'hey', data: { tag }, id: 0, fromWorker: 1, fromServer: 'A', toServer: 'M', toWorker: ANY_WORKER }), 1);
  return builder.take();
}

/** Dials M as member `me` with `key`; resolves with the socket once established, or the error. */
function dialM(me: string, key: string): Promise<{ socket: WebSocket; result: unknown }> {
  const socket = new WebSocket(`ws://127.0.0.2:${port}/boxwire`, { localAddress: '127.0.0.4' });
  socket.on('error', () => {});
  return new Promise((resolve) => {
    dialHandshake(socket, { me, key: Buffer.from(key), instance: 'test', timeoutMs: 5000 }, 'M', (result) => resolve({ socket, result }));
  });
}

function closed(socket: WebSocket): Promise<number> {
  if (socket.readyState === WebSocket.CLOSED) return Promise.resolve(1006);
  return new Promise((resolve) => socket.once('close', (code) => resolve(code)));
}

test('a member with the right key is admitted, and its messages reach handlers (the harness can pass)', async () => {
  const { socket, result } = await dialM('A', KEY);
  assert.not.instance(result, HandshakeError);
  socket.send(heyFrame('right key'));
  await M.waitFor((e) => e.event === 'received' && e.data?.tag === 'right key');
  socket.close();
});

test('a wrong key is refused when dialing in, and nothing it sends runs', async () => {
  const { socket, result } = await dialM('A', 'a-wrong-key-of-enough-length-000');
  assert.instance(result, HandshakeError);
  assert.match((result as HandshakeError).reason, /bad proof/);
  if (socket.readyState === WebSocket.OPEN) socket.send(heyFrame('wrong key'));
  await closed(socket);
  await M.until(() => (/server\.link_refused.*bad proof/.test(M.stderr) ? true : undefined), 10_000, () => 'refusal logged');
  // The request below is answered after anything the socket could have delivered.
  assert.equal((await N.run({ op: 'request', server: 'M', method: 'echo', data: 1 })).value, 1);
  assert.not.ok(M.events.some((e) => e.event === 'received' && e.data?.tag === 'wrong key'));
});

test('a server answering with a wrong key is refused by the dialer', async () => {
  // Play 'Z' with the wrong key: M (which sorts first) dials it.
  const wss = new WebSocketServer({ host: '127.0.0.5', port });
  cleanup.push(() => new Promise((resolve) => wss.close(resolve)));
  const outcome = new Promise<unknown>((resolve) => wss.on('connection', (socket) => {
    socket.on('error', () => {});
    acceptHandshake(socket, { me: 'Z', key: Buffer.from('z-has-another-key-of-some-length'), instance: 'fake', timeoutMs: 5000 }, () => ({ accept: true }), resolve);
  }));
  const result = await outcome;
  assert.instance(result, HandshakeError);
  await M.until(() => (/server\.dial_failed[^\n]*"server":"Z"[^\n]*bad proof/.test(M.stderr) ? true : undefined), 10_000, () => 'dialer refusal logged');
  assert.not.ok(M.events.some((e) => e.event === 'server-up' && e.server === 'Z'));
});

test('an unknown server name is refused and logged', async () => {
  const { result } = await dialM('Q', KEY);
  assert.instance(result, HandshakeError);
  await M.until(() => (/link_refused[^\n]*unknown server 'Q'/.test(M.stderr) ? true : undefined), 10_000, () => 'unknown name logged');
});

test('garbage, an oversized frame, and a valid frame without handshake: dropped, logged, cluster unharmed', async () => {
  const raw = () => {
    const socket = new WebSocket(`ws://127.0.0.2:${port}/boxwire`);
    socket.on('error', () => {});
    return new Promise<WebSocket>((resolve) => socket.once('open', () => resolve(socket)));
  };
  const garbage = await raw();
  garbage.send(Buffer.from([0xc1, 0xff, 0x00, 0x13, 0x37]));
  assert.is(await closed(garbage), 4002);
  const oversized = await raw();
  oversized.send(Buffer.alloc(17 * 1024 * 1024, 7));
  // ws refuses the frame header (1009); the pre-auth byte budget may cut the socket first (1006).
  assert.ok([1009, 1006].includes(await closed(oversized)));
  const sneaky = await raw();
  sneaky.send(heyFrame('no handshake'));
  assert.is(await closed(sneaky), 4002);
  const text = await raw();
  text.send(JSON.stringify(['bw-hello']));
  assert.is(await closed(text), 4002);
  assert.equal((await N.run({ op: 'request', server: 'M', method: 'echo', data: 'still here' })).value, 'still here');
  assert.not.ok(M.events.some((e) => e.event === 'received' && e.data?.tag === 'no handshake'));
  const refusals = M.stderr.split('\n').filter((line) => line.includes('server.link_refused') && line.includes('not a handshake message'));
  // Refusals are rate-limited (5 lines per 10 s, then a count): earlier tests' refusals share the window.
  assert.ok(refusals.length >= 1 && refusals.length <= 3, `bad clients logged at most once each: ${refusals.length}`);
});

test('bad config: thisServerName not in hosts, duplicate host:port, port out of range, no key off loopback → one line, exit 1', async () => {
  const cases: Array<[Record<string, unknown>, RegExp]> = [
    [{ hosts: { A: '127.0.0.2' }, thisServerName: 'B', port }, /thisServerName "B" is not in hosts/],
    [{ hosts: { A: '127.0.0.2', B: `127.0.0.2:${port}` }, thisServerName: 'A', port }, /hosts\.A and hosts\.B are both 127\.0\.0\.2/],
    [{ hosts: { A: '127.0.0.2' }, thisServerName: 'A', port: 70000 }, /port must be an integer from 1 to 65535/],
    [{ hosts: { A: '10.1.2.3', B: '10.1.2.4' }, thisServerName: 'A', port }, /refusing to listen on a non-loopback address without a cluster key/],
  ];
  for (const [options, expected] of cases) {
    const { hosts: h, thisServerName, port: p } = options as { hosts: Record<string, string>; thisServerName: string; port: number };
    const node = new ServerNode(thisServerName, { name: thisServerName, hosts: h, port: p, workers: 0, env: { BOXWIRE_CLUSTER_KEY: '' } });
    const { code } = await node.exited;
    assert.is(code, 1);
    const lines = node.stderr.trim().split('\n');
    assert.is(lines.length, 1, node.stderr);
    assert.match(lines[0], expected);
  }
});

test('a worker passing different options than its server is stopped with a clear error', async () => {
  const node = new ServerNode('W', { name: 'W', hosts: { W: '127.0.0.6' }, port, workers: 2, env: { FIXTURE_MISMATCH_WORKER: '2' } });
  try {
    await node.until(() => (/worker options differ from this server's \(differs in maxFrameBytes\)/.test(node.stderr) ? true : undefined), 30_000, () => 'mismatch reported');
  } finally {
    await node.stop();
  }
});

// ---- TLS ---------------------------------------------------------------------------------------

function makeCertificates(dir: string): Record<string, string> {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ca = (name: string) => {
    run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', `/CN=${name}`);
  };
  const leaf = (name: string, ip: string, signer: string) => {
    writeFileSync(join(dir, `${name}.ext`), `subjectAltName=IP:${ip}\nextendedKeyUsage=serverAuth,clientAuth\n`);
    run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${name}`);
    run('x509', '-req', '-in', `${name}.csr`, '-CA', `${signer}.pem`, '-CAkey', `${signer}.key`, '-CAcreateserial', '-out', `${name}.pem`, '-days', '2', '-extfile', `${name}.ext`);
  };
  ca('ca');
  ca('rogue');
  leaf('T1', '127.0.0.7', 'ca');
  leaf('T2', '127.0.0.8', 'ca');
  leaf('T3', '127.0.0.9', 'rogue');
  return Object.fromEntries(['ca', 'T1', 'T2', 'T3'].flatMap((n) => [[`${n}.pem`, join(dir, `${n}.pem`)], [`${n}.key`, join(dir, `${n}.key`)]]));
}

test('TLS: links come up between servers whose certificates the CA signed; a rogue certificate is refused', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'boxwire-tls-'));
  const files = makeCertificates(dir);
  const tlsHosts = { T1: '127.0.0.7', T2: '127.0.0.8', T3: '127.0.0.9' };
  const tlsPort = await freePort(['127.0.0.7', '127.0.0.8', '127.0.0.9']);
  const tls = (name: string) => ({ cert: files[`${name}.pem`], key: files[`${name}.key`], ca: files['ca.pem'] });
  const nodes = ['T1', 'T2', 'T3'].map((name) => new ServerNode(name, { name, hosts: tlsHosts, port: tlsPort, workers: 0, key: KEY, tls: tls(name) }));
  const [T1, T2, T3] = nodes;
  try {
    await Promise.all(nodes.map((n) => n.ready()));
    await T1.linkedTo('T2');
    assert.equal((await T2.run({ op: 'request', server: 'T1', method: 'whoami' })).value.server, 'T1');
    // T1 dials T3 and rejects its certificate; T3's wake-up dials are refused at the TLS layer.
    await T1.until(() => (/dial_failed[^\n]*"server":"T3"/.test(T1.stderr) ? true : undefined), 20_000, () => 'T1 refuses T3');
    await T3.until(() => (/dial_failed[^\n]*"server":"T1"/.test(T3.stderr) ? true : undefined), 20_000, () => 'T3 is refused by T1');
    assert.not.ok(T1.events.some((e) => e.event === 'server-up' && e.server === 'T3'));
    assert.not.ok(T3.events.some((e) => e.event === 'server-up'));
  } finally {
    await stopAll(nodes);
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
