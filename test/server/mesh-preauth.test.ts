// The mesh port before authentication (issue 13): anyone who can reach it may connect, so
// until a connection proves the cluster key it gets a small byte budget, a deadline from the
// TCP accept, a per-address and total cap, and rate-limited log lines. Real servers M and N.
import { connect, type Socket } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import WebSocket from 'ws';
import { HandshakeError, dialHandshake } from '../../src/server/handshake.js';
import { ServerNode, freePort, stopAll } from '../helpers/server-driver.js';

const KEY = 'preauth-test-cluster-key-0123456789abcdef';
const hosts = { A: '127.0.0.4', M: '127.0.0.2', N: '127.0.0.3' };
const options = { handshakeTimeoutMs: 3000, maxUnauthenticatedPerAddress: 8, maxUnauthenticated: 64 };
let port: number;
let M: ServerNode, N: ServerNode;

test.before(async () => {
  port = await freePort(['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  M = new ServerNode('M', { name: 'M', hosts, port, workers: 0, key: KEY, options });
  N = new ServerNode('N', { name: 'N', hosts, port, workers: 0, key: KEY, options });
  await Promise.all([M.ready(), N.ready()]);
  await M.linkedTo('N');
});
test.after(() => stopAll([M, N]));

function rawTcp(localAddress: string): Promise<{ socket: Socket; closed: Promise<number> }> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.2', port, localAddress });
    const opened = Date.now();
    const closed = new Promise<number>((done) => socket.once('close', () => done(Date.now() - opened)));
    socket.on('error', () => {});
    socket.once('connect', () => resolve({ socket, closed }));
    socket.once('error', reject);
  });
}

function waitAll<T>(promises: Array<Promise<T>>, ms: number, what: string): Promise<T[]> {
  let timer: NodeJS.Timeout;
  const late = new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: not within ${ms} ms`)), ms)));
  return Promise.race([Promise.all(promises), late]).finally(() => clearTimeout(timer));
}

async function rssMB(node: ServerNode): Promise<number> {
  return ((await node.run({ op: 'memory' })).value as NodeJS.MemoryUsage).rss / 2 ** 20;
}

test('5. memory before authentication: frames declaring 16 MiB are cut off after the pre-auth budget; the master does not grow', async () => {
  const before = await rssMB(M);
  const payload = 16 * 1024 * 1024 - 1024;
  // A binary frame header (FIN, opcode 2, masked, 64-bit length) and then bytes, as fast as the socket takes them.
  const header = Buffer.alloc(14);
  header[0] = 0x82;
  header[1] = 0x80 | 127;
  header.writeBigUInt64BE(BigInt(payload), 2);
  const attackers = await Promise.all(Array.from({ length: 12 }, async (_, i) => {
    const ws = new WebSocket(`ws://127.0.0.2:${port}/boxwire`, { localAddress: `127.0.0.${10 + i}` });
    ws.on('error', () => {});
    await new Promise((resolve) => ws.once('open', resolve));
    const raw = (ws as unknown as { _socket: Socket })._socket;
    const closed = new Promise<void>((resolve) => raw.once('close', () => resolve()));
    raw.write(header);
    const chunk = Buffer.alloc(256 * 1024, 7);
    let sent = 0;
    let open = true;
    raw.once('close', () => (open = false));
    while (open && sent < payload) {
      sent += chunk.length;
      if (!raw.write(chunk)) await new Promise((resolve) => { raw.once('drain', resolve); raw.once('close', resolve); });
    }
    return { closed };
  }));
  await waitAll(attackers.map((a) => a.closed), 20_000, 'every pre-auth sender closed by the server');
  const after = await rssMB(M);
  assert.ok(after - before < 64, `M grew from ${before.toFixed(0)} to ${after.toFixed(0)} MB`);
  assert.equal((await N.run({ op: 'request', server: 'M', method: 'echo', data: 'still linked' })).value, 'still linked');
});

test('5/6. unauthenticated connections: capped per address, closed at the handshake deadline, a real member still gets in; refusals are not logged one line each', async () => {
  const linesBefore = M.stderr.split('\n').length;
  const silent = await Promise.all(Array.from({ length: 40 }, () => rawTcp('127.0.0.9')));
  // Beyond the 8 allowed from one address, connections are closed at once (long before the deadline).
  const beyondCap = await waitAll(silent.map((s) => s.closed), 15_000, 'silent connections closed');
  const closedFast = beyondCap.filter((ms) => ms < 2500).length;
  assert.ok(closedFast >= 32, `${closedFast} of 40 closed before the deadline (the cap is 8 per address)`);
  assert.ok(beyondCap.every((ms) => ms < 10_000), `all silent connections closed by the deadline: ${Math.max(...beyondCap)} ms`);
  // A member dialing from another address is admitted while an attacker holds its slots.
  const held = await Promise.all(Array.from({ length: 8 }, () => rawTcp('127.0.0.9')));
  const member = new WebSocket(`ws://127.0.0.2:${port}/boxwire`, { localAddress: '127.0.0.4' });
  member.on('error', () => {});
  const result = await new Promise((resolve) => dialHandshake(member, { me: 'A', key: Buffer.from(KEY), instance: 'test', timeoutMs: 5000 }, 'M', resolve));
  assert.not.instance(result, HandshakeError);
  member.close();
  await waitAll(held.map((s) => s.closed), 15_000, 'held connections closed at the deadline');
  const lines = M.stderr.split('\n').slice(linesBefore).filter((line) => line.includes('server.preauth'));
  assert.ok(lines.length <= 12, `${lines.length} log lines for 48 refused connections:\n${lines.slice(0, 20).join('\n')}`);
  assert.ok(lines.some((line) => line.includes('suppressed')) || lines.length < 10, 'suppressed refusals are counted in one line');
});

test.run();
