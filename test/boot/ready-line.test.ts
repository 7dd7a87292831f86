// `npm run demo:cluster` (three `boxwire start` processes) as a newcomer runs it: each server
// prints one ready line with its URL and roles once it serves — and it does serve at that moment
// — then the demo says where to go; uploads on the upload server log no spurious
// `message.no_handler bw.server.roomSiblings`; Ctrl-C stops everything.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { repoRoot } from '../helpers/process-harness.js';
import { freePort } from '../helpers/server-driver.js';
import { CLUSTER_KEY, writeConfig } from '../helpers/roles-cluster.js';
import { runToExit } from '../helpers/run-to-exit.js';

const hosts = { door: '127.0.0.2', api1: '127.0.0.3', upload1: '127.0.0.4' };
let demo: ChildProcess | undefined;
let stdout = '';
let stderr = '';

test.after(async () => {
  if (demo?.pid && demo.exitCode === null && demo.signalCode === null) process.kill(-demo.pid, 'SIGKILL');
});

function waitOutput(pattern: RegExp, timeoutMs = 90_000): Promise<RegExpExecArray> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const match = pattern.exec(stdout);
      if (!match) return false;
      clearTimeout(timer);
      demo!.stdout!.off('data', check);
      resolve(match);
      return true;
    };
    const timer = setTimeout(() => reject(new Error(`no ${pattern} within ${timeoutMs} ms\nstdout:\n${stdout}\nstderr:\n${stderr}`)), timeoutMs);
    if (!check()) demo!.stdout!.on('data', check);
  });
}

test('demo:cluster: a ready line per server (URL and roles) once it serves; uploads log no spurious warning', async () => {
  const webPort = await freePort(Object.values(hosts));
  const clusteringPort = await freePort(Object.values(hosts));
  const { path } = writeConfig({
    clusteringPort, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'],
    servers: {
      door: { host: hosts.door, webPort, roles: ['front-door'], workers: 1 },
      api1: { host: hosts.api1, webPort, roles: ['api'], workers: 1 },
      // Two workers: the relay between siblings is what logged the warning.
      upload1: { host: hosts.upload1, webPort, roles: ['upload'], dataDir: 'upload1', workers: 2 },
    },
  });
  demo = spawn('npm', ['run', '--silent', 'demo:cluster'], {
    cwd: repoRoot, detached: true, stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, BOXWIRE_CONFIG: path, BOXWIRE_CLUSTER_KEY: CLUSTER_KEY, BOXWIRE_LOG: 'warn', BOXWIRE_WORKERS: '' },
  });
  demo.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  demo.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));

  const all = await waitOutput(/^boxwire demo cluster: all 3 servers are up; open (http:\S+) /m);
  assert.is(all[1], `http://${hosts.door}:${webPort}/`);
  const roles = { door: 'front-door', api1: 'api', upload1: 'upload' };
  for (const [name, host] of Object.entries(hosts)) {
    const url = `http://${host}:${webPort}/`;
    const lines = stdout.split('\n').filter((line) => line.startsWith(`[${name}] boxwire: server `));
    assert.equal(lines, [`[${name}] boxwire: server ${name} is up at ${url} (roles: ${roles[name as keyof typeof roles]}; cluster view at ${url}__CLUSTER)`], `one ready line for ${name}`);
    // Printed once it serves: it answers at once, no retry.
    assert.is((await fetch(`${url}__CHECK_ALIVE`)).status, 200, `${name} serves`);
  }
  assert.match(await (await fetch(all[1])).text(), /<title>boxwire sample<\/title>/);

  // Uploads with progress on the upload server (each worker gets some: node:cluster balances).
  for (let i = 0; i < 4; i++) {
    const form = new FormData();
    form.append('file', new Blob([Buffer.alloc(50_000, i)]), `f${i}.bin`);
    const response = await fetch(`http://${hosts.upload1}:${webPort}/__UPLOAD?box=sample&progress=token-${i}-${Date.now()}`, { method: 'POST', body: form });
    assert.is(response.status, 201, await response.text());
  }

  // Ctrl-C reaches the whole process group, as in a terminal: every server stops gracefully (a
  // relay still in flight is handled before that). npm itself dies of the signal, as it does there.
  process.kill(-demo.pid!, 'SIGINT');
  await new Promise((resolve) => demo!.stdout!.once('end', resolve));
  for (const name of Object.keys(hosts)) assert.match(stdout, new RegExp(`^\\[${name}\\] exited \\(0\\)$`, 'm'));
  assert.not.match(stderr, /no_handler/, stderr);
  // A server whose peers took over 5 s to come up (a loaded machine) rightly warns that it
  // started its store alone; nothing else may be logged at warn or error.
  const unexpected = stderr.split('\n').filter((line) => /"level":"(warn|error)"/.test(line) && !line.includes('"event":"store.alone_after_start"'));
  assert.equal(unexpected, [], `no warnings or errors:\n${stderr}`);
});

test('demo:cluster: a server that cannot start (its web port taken) says why in one line and stops the others', async () => {
  const webPort = await freePort(Object.values(hosts));
  const clusteringPort = await freePort(Object.values(hosts));
  const { path } = writeConfig({
    clusteringPort, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'],
    servers: { door: { host: hosts.door, webPort, roles: ['front-door'], workers: 1 }, api1: { host: hosts.api1, webPort, roles: ['api'], workers: 1 } },
  });
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(webPort, hosts.door, resolve));
  try {
    const { code, stdout: out, stderr: err } = await runToExit('npm', ['run', '--silent', 'demo:cluster'], { env: { ...process.env, BOXWIRE_CONFIG: path, BOXWIRE_CLUSTER_KEY: CLUSTER_KEY, BOXWIRE_WORKERS: '' }, killAfterMs: 60_000 });
    const result = { code, out, err };
    assert.is(result.code, 1, result.out + result.err);
    const lines = result.err.trimEnd().split('\n');
    assert.equal(lines.filter((l) => l.startsWith('[door]')), [
      `[door] boxwire start: servers.door.webPort: ${hosts.door}:${webPort} is already in use (another boxwire server or program is listening there)`,
    ], 'one line from the server that failed');
    assert.ok(lines.includes('boxwire demo cluster: door could not start; stopping the others'), result.err);
    assert.match(result.out, /^\[door\] exited \(1\)$/m);
    // api1 was stopped while starting: gracefully, or by the signal if it came before its handler.
    assert.match(result.out, /^\[api1\] exited \((0|SIGTERM)\)$/m);
  } finally {
    blocker.close();
  }
});

test.run();
