/**
 * The edge of the cluster, unit by unit: whose forwarded headers are believed (spoofing), the
 * client address behind proxies, and the discovery spread weights. The `publicUrl` and
 * `trustedProxies` keys themselves are checked in test/config/edge.test.ts.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { IncomingMessage } from 'node:http';
import { clientAddressOf, configureEdge, publicOriginOf } from '../../src/roles/cluster/public-address.js';
import { spreadWeights } from '../../src/roles/cluster/spread.js';
import type { ServerView } from '../../src/roles/cluster/topology.js';

function fakeRequest(peer: string, headers: Record<string, string>): IncomingMessage {
  return { socket: { remoteAddress: peer }, headers } as unknown as IncomingMessage;
}

test('forwarded headers are believed only from a trusted proxy, and only when well formed', () => {
  configureEdge({ trustedProxies: ['10.0.0.10'] });
  const headers = { 'x-forwarded-host': 'app.example.com:8443', 'x-forwarded-proto': 'https', 'x-forwarded-for': '203.0.113.7, 10.0.0.10' };
  assert.equal(publicOriginOf(fakeRequest('10.0.0.10', headers)), { protocol: 'https', host: 'app.example.com:8443' });
  assert.is(publicOriginOf(fakeRequest('198.51.100.1', headers)), undefined, 'a client talking directly cannot choose the host');
  for (const host of ['evil.example/path', 'a b', 'x"><script>', 'host\r\nSet-Cookie: a=b', '']) {
    assert.is(publicOriginOf(fakeRequest('10.0.0.10', { ...headers, 'x-forwarded-host': host })), undefined, JSON.stringify(host));
  }
  assert.equal(publicOriginOf(fakeRequest('10.0.0.10', { 'x-forwarded-host': '[2001:db8::1]:443', 'x-forwarded-proto': 'gopher' })), { protocol: 'http', host: '[2001:db8::1]:443' });
  // Client address: the last hop that is not a trusted proxy; a spoofed left-most entry is ignored.
  assert.is(clientAddressOf(fakeRequest('10.0.0.10', { 'x-forwarded-for': '1.2.3.4, 203.0.113.7' })), '203.0.113.7');
  assert.is(clientAddressOf(fakeRequest('198.51.100.1', { 'x-forwarded-for': '1.2.3.4' })), '198.51.100.1');
});

test('publicUrl wins over forwarded headers, from anyone', () => {
  configureEdge({ publicUrl: 'https://app.example.com', trustedProxies: ['10.0.0.10'] });
  const spoof = { 'x-forwarded-host': 'evil.example', 'x-forwarded-proto': 'http' };
  assert.equal(publicOriginOf(fakeRequest('10.0.0.10', spoof)), { protocol: 'https', host: 'app.example.com' });
  assert.equal(publicOriginOf(fakeRequest('198.51.100.1', spoof)), { protocol: 'https', host: 'app.example.com' });
  configureEdge({});
  assert.is(publicOriginOf(fakeRequest('10.0.0.10', spoof)), undefined, 'without either: direct addresses, as before');
});

test('spread weights: equal loads equal; a clearly busier server a smaller share; unknown load half; never zero', () => {
  const view = (load: number | null): ServerView => ({ name: 'x', host: 'h', webPort: 1, roles: ['api'], live: true, load, self: false, clockOffsetMs: 0 });
  assert.equal(spreadWeights([view(1.2), view(1.2)]), [1, 1]);
  assert.equal(spreadWeights([view(1.2), view(1.25)]), [1, 1], 'noise-sized differences count as equal');
  const [idle, busy] = spreadWeights([view(0.5), view(1.1)]);
  assert.is(idle, 1);
  assert.ok(Math.abs(busy - 0.25 / 0.75) < 1e-9, String(busy));
  assert.equal(spreadWeights([view(0.5), view(null)]), [1, 0.5]);
  assert.ok(spreadWeights([view(0), view(50)])[1] > 0);
});

test.run();
