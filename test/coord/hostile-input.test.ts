// Hostile input to LOCK / QUEUE / UNIQUE_ID (test/fixtures/coord-hostile.ts) on both backends:
// the embedded one across the workers of one server, the embedded one in a single process, and a
// real redis-server. Every case gets the same outcome on each: a typed error with a short message
// that says what to do, or — for legitimate input — a working lock / job / id; nothing else
// changes (jobs and a held lock from before survive, Object.prototype is untouched). The
// single-process runs end with closeCoordination() and must exit on their own.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { FixtureProcess, type FixtureEvent } from '../helpers/process-harness.js';
import { RedisServer } from '../helpers/redis-server.js';

const redis = new RedisServer();
const fixtures: FixtureProcess[] = [];

test.before(async () => {
  await redis.start();
});

test.after(async () => {
  for (const fixture of fixtures) fixture.kill('SIGKILL');
  await redis.dispose();
});

const REFUSED_NAMES = ['__proto__', 'constructor', 'prototype', 'a.__proto__.b', 'empty', 'newline', 'NUL', 'U+2028', '1 MB', '513 chars', 'lone surrogate', 'number', 'null', 'undefined', 'object', 'array', 'symbol'];
const ACCEPTED_NAMES = ['512 chars', '{', '}', '{}', '}{', 'user{7}', '{a}', '%7Ba%7D', '*', 'orders:*', '?[a]', 'unicode', ' padded '];
const ENCODE_ERRORS = ['function', 'object with a method', 'symbol', 'cycle', '100,000 levels deep'];
const ACCEPTED_PAYLOADS = ['900 KiB string', 'constructor/prototype keys', 'bigint 2^100', 'undefined', 'Map, Set, Date'];

/** What each case must come to: an error code, or `{ value }` for accepted input. */
function expected(label: string): string | { value: unknown } {
  const name = /^(?:LOCK|QUEUE) name (.*)$/.exec(label)?.[1];
  if (name !== undefined) return REFUSED_NAMES.includes(name) ? 'BOXWIRE_CONFIG' : { value: true };
  if (label.startsWith('round trip ')) return { value: { fence: true, data: true, completed: 1 } };
  const payload = /^payload (.*)$/.exec(label)?.[1];
  if (payload === 'changed after push') return { value: { n: 1 } };
  if (payload !== undefined) {
    if (ENCODE_ERRORS.includes(payload)) return 'BOXWIRE_ENCODE';
    if (payload === 'own __proto__ key') return 'BOXWIRE_UNSAFE_KEY';
    if (payload === '2 MiB string') return 'BOXWIRE_CONFIG';
    return { value: { equal: true } };
  }
  const special: Record<string, string | { value: unknown }> = {
    'brace names are distinct locks': { value: ['%7Ba%7D', 'a', '{a', 'a}', '{{a}}'] },
    'the same brace name is busy': 'BOXWIRE_LOCK_BUSY',
    'LOCK options null': { value: 'ran' },
    'LOCK ttlMs 30 (minimum)': { value: 'ran' },
    'nothing was queued by refused pushes': { value: { waiting: 0, delayed: 0, active: 0, completed: 0, failed: 0 } },
    'UNIQUE_ID.parse of an id': { value: true },
    'raw bw.coord.call with name __proto__': 'BOXWIRE_REMOTE',
    'baseline jobs intact': { value: true },
    'baseline lock still held': 'BOXWIRE_LOCK_BUSY',
    'baseline lock free after release, higher fence': { value: true },
    'Object.prototype unchanged': { value: true },
    'ids still increase': { value: true },
  };
  return special[label] ?? 'BOXWIRE_CONFIG'; // every bad option
}

function checkCases(events: FixtureEvent[], where: string): number {
  const cases = events.filter((e) => e.event === 'case');
  const wrong: string[] = [];
  for (const c of cases) {
    const want = expected(c.label);
    if (typeof want === 'string') {
      if (c.ok || c.error.code !== want) wrong.push(`${c.label}: wanted ${want}, got ${JSON.stringify(c.ok ? c.value : c.error).slice(0, 300)}`);
      else if (c.error.message.length > 1_000 || /[\u0000-\u001f]/.test(c.error.message)) wrong.push(`${c.label}: the message must be short and printable: ${JSON.stringify(c.error.message).slice(0, 300)}`);
      else if (want === 'BOXWIRE_REMOTE' && c.error.remoteName !== 'ConfigError') wrong.push(`${c.label}: the master must refuse with a ConfigError, got ${c.error.remoteName}`);
    } else if (!c.ok || JSON.stringify(c.value) !== JSON.stringify(want.value)) {
      wrong.push(`${c.label}: wanted ${JSON.stringify(want.value)}, got ${JSON.stringify(c.ok ? c.value : c.error).slice(0, 300)}`);
    }
  }
  assert.equal(wrong, [], `${where}:\n${wrong.join('\n')}`);
  return cases.length;
}

function start(env: Record<string, string>): FixtureProcess {
  const fixture = new FixtureProcess('test/fixtures/coord-hostile.ts', [], { BOXWIRE_REDIS_URL: '', BOXWIRE_REDIS_CLUSTER: '', ...env });
  fixtures.push(fixture);
  return fixture;
}

/** A single-process run: every case, then closeCoordination(), then the process must end by itself. */
async function soloRun(env: Record<string, string>, where: string): Promise<void> {
  const app = start(env);
  await app.waitForEvent('hostile-done', 1, 120_000);
  const count = checkCases(app.events, where);
  assert.ok(count > 150, `${count} cases ran`);
  await app.waitForEvent('closed', 1, 30_000);
  const exit = await app.until(() => (app.child.exitCode ?? app.child.signalCode) !== null ? { code: app.child.exitCode } : undefined, 30_000, () => 'the process to exit on its own after closeCoordination()');
  assert.is(exit.code, 0, app.stderr.slice(-2_000));
}

test('embedded, across the workers of one server: each hostile input gets its typed error or works; nothing else changes', async () => {
  const app = start({ FIXTURE_WORKERS: '2' });
  await app.waitForEvent('hostile-done', 1, 120_000);
  const count = checkCases(app.events, 'embedded with 2 workers');
  assert.ok(count > 150, `${count} cases ran`);
  assert.ok(app.events.some((e) => e.label === 'raw bw.coord.call with name __proto__'), 'the master was sent a raw call');
  await app.stop();
  assert.is((await app.exited).code, 0);
  const [master] = await app.waitForEvent('master-prototype', 1, 1_000);
  assert.is(master.unchanged, true, "the master's Object.prototype is untouched");
});

test('embedded, in one process: the same outcomes, and closeCoordination() lets the process exit by itself', async () => {
  await soloRun({}, 'embedded in one process');
});

test('on Redis: the same outcomes, and closeCoordination() closes the connections so the process exits by itself', async () => {
  await soloRun({ BOXWIRE_REDIS_URL: redis.url }, 'on Redis');
  // Refused names left nothing in Redis: every key is one of the accepted names' or the fixed ones.
  const { stdout } = await redis.cli('--scan', '--pattern', '*');
  const keys = stdout.split('\n').filter(Boolean);
  assert.ok(keys.length > 0);
  for (const key of keys) assert.not.match(key, /__proto__|constructor|prototype|\n/, key);
});

test.run();
