/**
 * The cluster config's edge keys (src/config/edge.ts): `publicUrl` stored as an origin, and
 * `trustedProxies` as IPs and CIDR ranges with the matcher the roles use for socket peers.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseClusterConfig, proxyMatcher, type ConfigValidationError } from '../../src/config/index.js';

const servers = { a: { host: '10.0.0.1', webPort: 8080 } };

function problems(extra: Record<string, unknown>): string[] {
  try {
    parseClusterConfig({ clusteringPort: 9000, servers, ...extra });
    return [];
  } catch (error) {
    return (error as ConfigValidationError).problems;
  }
}

test('publicUrl: an http(s) origin, stored without a trailing slash; anything else is refused with the key named', () => {
  assert.is(parseClusterConfig({ clusteringPort: 9000, servers, publicUrl: 'https://App.Example.com/' }).publicUrl, 'https://app.example.com');
  assert.is(parseClusterConfig({ clusteringPort: 9000, servers, publicUrl: 'http://lb:8080' }).publicUrl, 'http://lb:8080');
  assert.is(parseClusterConfig({ clusteringPort: 9000, servers }).publicUrl, undefined);
  for (const bad of ['app.example.com', 'ftp://x', 'https://x/app', 'https://x/?a=1', 'https://u:p@x', 42]) {
    const found = problems({ publicUrl: bad });
    assert.is(found.length, 1, `${JSON.stringify(bad)}: ${found}`);
    assert.match(found[0], /^publicUrl: /);
  }
});

test('trustedProxies: IPs and CIDR ranges; IPv4-mapped peers match', () => {
  assert.equal(parseClusterConfig({ clusteringPort: 9000, servers, trustedProxies: ['10.0.0.10', '10.0.1.0/24', '::1'] }).trustedProxies, ['10.0.0.10', '10.0.1.0/24', '::1']);
  assert.match(problems({ trustedProxies: ['10.0.0.300'] })[0], /trustedProxies\[0\]: must be an IP address or a CIDR range/);
  assert.match(problems({ trustedProxies: ['10.0.0.0/33'] })[0], /trustedProxies\[0\]/);
  assert.match(problems({ trustedProxies: '10.0.0.1' })[0], /trustedProxies: must be an array/);
  const trusted = proxyMatcher(['10.0.1.0/24', '::1']);
  assert.ok(trusted('10.0.1.77'));
  assert.ok(trusted('::ffff:10.0.1.77'));
  assert.ok(trusted('::1'));
  assert.not.ok(trusted('10.0.2.1'));
  assert.not.ok(trusted(undefined));
  assert.not.ok(proxyMatcher(undefined)('127.0.0.1'));
});

test.run();
