// Host names as every layer compares and prints them (src/core/host.ts): one loopback rule — the
// mesh's "no key off loopback" check, the config's MongoDB mixing rule and ops' "is this host
// me" all use it — and one way to write host:port with IPv6 literals in brackets.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { canonicalHost, formatHost, isLoopback, unbracketHost } from '../../src/core/host.js';

test('loopback: localhost, 127.0.0.0/8, ::1 and [::1] (any case, written out or IPv4-mapped)', () => {
  for (const host of ['localhost', 'LocalHost', '127.0.0.1', '127.0.0.2', '127.255.255.254', '::1', '[::1]', '0:0:0:0:0:0:0:1', '[0:0:0:0:0:0:0:1]', '::ffff:127.0.0.1', ' 127.0.0.1 ']) {
    assert.ok(isLoopback(host), `${JSON.stringify(host)} is loopback`);
  }
});

test('not loopback: other addresses, the unspecified ones, names that merely look close, and DNS names', () => {
  for (const host of ['10.0.0.1', '128.0.0.1', '126.255.255.255', '0.0.0.0', '::', '[::]', '::2', '[::2]', 'fe80::1', '::ffff:10.0.0.1', '127.0.0', '127.0.0.1.example.com', 'localhost.example.com', 'example.com', '', '[', '[]']) {
    assert.not.ok(isLoopback(host), `${JSON.stringify(host)} is not loopback`);
  }
});

test('formatHost: host:port, IPv6 literals bracketed once', () => {
  assert.is(formatHost('127.0.0.1', 8080), '127.0.0.1:8080');
  assert.is(formatHost('app.example.com', 443), 'app.example.com:443');
  assert.is(formatHost('::1', 8125), '[::1]:8125');
  assert.is(formatHost('fe80::1:2', 80), '[fe80::1:2]:80');
  assert.is(formatHost('[::1]', 8125), '[::1]:8125', 'an already bracketed literal is not bracketed twice');
  // What URLs built with it parse back to.
  const url = new URL(`http://${formatHost('2001:db8::7', 9000)}/__STATUS`);
  assert.is(url.hostname, '[2001:db8::7]');
  assert.is(url.port, '9000');
});

test('unbracketHost and canonicalHost', () => {
  assert.is(unbracketHost('[::1]'), '::1');
  assert.is(unbracketHost('::1'), '::1');
  assert.is(unbracketHost('example.com'), 'example.com');
  assert.is(canonicalHost('LOCALHOST'), '127.0.0.1');
  assert.is(canonicalHost('Example.COM'), 'example.com');
  assert.is(canonicalHost('127.0.0.1'), '127.0.0.1');
});

test.run();
