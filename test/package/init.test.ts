// `npx boxwire init my-app` end to end, as a user gets boxwire: from the tarball `npm pack` makes
// (not the source tree). The new app installs (boxwire from the tarball, the rest from the
// registry), `npm start` serves its page, method and room, `npm test` and `npm run typecheck` pass.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { repoRoot } from '../helpers/process-harness.js';

const work = mkdtempSync(join(tmpdir(), 'boxwire-init-'));
const app = join(work, 'my-app');
const boxwireBin = join(repoRoot, 'bin', 'boxwire.js');
let tarball = '';
let server: ChildProcess | undefined;

test.after(async () => {
  if (server?.pid && server.exitCode === null) {
    // npm and the app it started share the process group this test created for them.
    process.kill(-server.pid, 'SIGTERM');
    const timer = setTimeout(() => process.kill(-server!.pid!, 'SIGKILL'), 15_000);
    await once(server, 'exit');
    clearTimeout(timer);
  }
  rmSync(work, { recursive: true, force: true });
});

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  await new Promise((resolve) => probe.close(resolve));
  return port;
}

const run = (command: string, args: string[], cwd: string) =>
  spawnSync(command, args, { cwd, encoding: 'utf8', timeout: 300_000, env: { ...process.env, FORCE_COLOR: '0' } });

test('init refuses a folder that is not empty and a name npm would refuse, writing nothing', () => {
  const taken = join(work, 'taken');
  mkdirSync(taken);
  writeFileSync(join(taken, 'notes.txt'), 'mine');
  const busy = spawnSync(process.execPath, [boxwireBin, 'init', taken], { encoding: 'utf8' });
  assert.is(busy.status, 1);
  assert.match(busy.stderr, /already exists and is not an empty folder; nothing was written/);
  assert.equal(readdirSync(taken), ['notes.txt']);
  const badName = spawnSync(process.execPath, [boxwireBin, 'init', join(work, 'Bad Name')], { encoding: 'utf8' });
  assert.is(badName.status, 1);
  assert.match(badName.stderr, /not a valid npm package name/);
  assert.not.ok(existsSync(join(work, 'Bad Name')));
  const none = spawnSync(process.execPath, [boxwireBin, 'init'], { encoding: 'utf8' });
  assert.is(none.status, 1);
  assert.match(none.stderr, /Usage: boxwire init DIR/);
});

test('`npm pack` makes a tarball that holds the compiled package and the app template', () => {
  // Packed from a staging copy (the package's "files", compiled there) so the test never
  // rebuilds the checkout's dist/ while another test file reads it.
  const stage = join(work, 'stage');
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { files: string[] };
  for (const entry of [...pkg.files.filter((f) => f !== 'dist'), 'package.json', 'README.md']) {
    cpSync(join(repoRoot, entry), join(stage, entry), { recursive: true });
  }
  execFileSync('npx', ['tsc', '-p', join(repoRoot, 'tsconfig.build.json'), '--outDir', join(stage, 'dist')], { cwd: repoRoot, stdio: 'pipe', timeout: 300_000 });
  const out = execFileSync('npm', ['pack', '--silent', '--ignore-scripts', '--pack-destination', work], { cwd: stage, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 });
  tarball = join(work, out.trim().split('\n').pop()!);
  assert.ok(existsSync(tarball), `${tarball} exists`);
  const listing = execFileSync('tar', ['tzf', tarball], { encoding: 'utf8' });
  for (const file of ['package/dist/src/index.js', 'package/dist/src/boot/cli.js', 'package/bin/boxwire.js', 'package/templates/app/boxes/main/index.ts']) {
    assert.ok(listing.includes(`${file}\n`), `${file} is in the tarball`);
  }
  assert.not.ok(listing.includes('package/src/boot/'), 'the TypeScript sources are not shipped: the bin runs dist/');
});

test('`npx boxwire init my-app` from the tarball writes the app', () => {
  const result = run('npx', ['--yes', '--package', tarball, 'boxwire', 'init', 'my-app'], work);
  assert.is(result.status, 0, result.stderr);
  assert.match(result.stdout, /cd my-app\n\s+npm install\n\s+npm start/);
  for (const file of ['package.json', 'cluster.json', 'server.ts', 'boxes/main/index.ts', 'boxes/main/static/index.html', 'test/app.test.ts', 'README.md', 'tsconfig.json', '.gitignore']) {
    assert.ok(existsSync(join(app, file)), `${file} was written`);
  }
  const pkg = JSON.parse(readFileSync(join(app, 'package.json'), 'utf8'));
  assert.is(pkg.name, 'my-app');
  assert.match(pkg.dependencies.boxwire, /^\^\d+\.\d+\.\d+$/);
  const box = readFileSync(join(app, 'boxes/main/index.ts'), 'utf8');
  assert.match(box, /defineBox\(/);
  assert.match(box, /rooms: \['greetings'\]/);
  assert.match(box, /SHARED_STORE\('greetings'\)/);
  assert.match(readFileSync(join(app, 'README.md'), 'utf8'), /npm install\nnpm start/);
  assert.equal(JSON.parse(readFileSync(join(app, 'cluster.json'), 'utf8')).servers, { app: { host: '127.0.0.1', webPort: 8080 } });
});

test('npm install takes boxwire from the tarball and the rest from the registry', () => {
  const result = run('npm', ['install', '--no-audit', '--no-fund', tarball], app);
  assert.is(result.status, 0, result.stderr);
  assert.ok(existsSync(join(app, 'node_modules/boxwire/dist/src/index.js')));
  assert.not.ok(existsSync(join(app, 'node_modules/boxwire/src/boot')), 'installed from the tarball, not linked to the source tree');
});

test('npm start serves the page, the method and the room', async () => {
  const port = await freePort();
  let output = '';
  server = spawn('npm', ['start'], { cwd: app, detached: true, env: { ...process.env, PORT: String(port), BOXWIRE_WORKERS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /listening at (http:\/\/\S+)/.exec(output);
      if (match) resolve(match[1]);
    };
    server!.stdout!.on('data', onData);
    server!.stderr!.on('data', onData);
    server!.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
  });
  assert.is(url, `http://127.0.0.1:${port}/`);
  assert.match(await (await fetch(url)).text(), /Hello from boxwire/);

  const call = await fetch(`${url}__API/main/hello`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ name: 'Ada' }) });
  assert.is(call.status, 200);
  const { result } = await call.json();
  assert.is(result.message, 'Hello, Ada!');
  assert.is(result.count, 1);

  // A WebSocket client in the room sees the next greeting pushed.
  const socket = new WebSocket(`ws://127.0.0.1:${port}/__API`);
  const messages: Array<Record<string, unknown>> = [];
  const waiters: Array<() => void> = [];
  socket.on('message', (raw) => {
    messages.push(JSON.parse(String(raw)));
    waiters.splice(0).forEach((wake) => wake());
  });
  const next = async (match: (m: Record<string, unknown>) => boolean) => {
    for (;;) {
      const found = messages.find(match);
      if (found) return found;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
  };
  await once(socket, 'open');
  socket.send(JSON.stringify({ id: 1, box: 'main', join: 'greetings' }));
  assert.equal((await next((m) => m.id === 1)).result, true);
  socket.send(JSON.stringify({ id: 2, box: 'main', method: 'hello', data: { name: 'Grace' } }));
  assert.equal((await next((m) => m.id === 2)).result, { message: 'Hello, Grace!', count: 2 });
  assert.equal(await next((m) => m.room === 'greetings'), { box: 'main', room: 'greetings', event: 'greeted', data: { name: 'Grace', count: 2 } });
  socket.close();
});

test('npm test and npm run typecheck pass in the new app', () => {
  const tested = run('npm', ['test'], app);
  assert.is(tested.status, 0, `${tested.stdout}\n${tested.stderr}`);
  // TAP ("# pass 1") or spec ("ℹ pass 1"): the default reporter differs between Node lines.
  assert.match(`${tested.stdout}\n${tested.stderr}`, /(#|ℹ) pass 1\n(#|ℹ) fail 0/);
  const typed = run('npm', ['run', 'typecheck'], app);
  assert.is(typed.status, 0, `${typed.stdout}\n${typed.stderr}`);
});

test.run();
