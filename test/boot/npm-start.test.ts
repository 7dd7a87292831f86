// `npm start` from a fresh clone: clone the committed tree, install as the README says, run
// `npm start`, and use the sample page it prints the URL of. No MongoDB, Redis or config file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import WebSocket from 'ws';
import { repoRoot } from '../helpers/process-harness.js';

const PORT = 18550;
const clone = mkdtempSync(join(tmpdir(), 'boxwire-clone-'));
let child: ChildProcess | undefined;
let output = '';

test.after(async () => {
  if (child?.pid && child.exitCode === null) {
    const exited = new Promise((resolve) => child!.once('exit', resolve));
    // npm and the server it started share a process group that this test created.
    process.kill(-child.pid, 'SIGTERM');
    const timer = setTimeout(() => process.kill(-child!.pid!, 'SIGKILL'), 15_000);
    await exited;
    clearTimeout(timer);
  }
  rmSync(clone, { recursive: true, force: true });
});

test('a fresh clone installs, `npm start` prints its URL and serves the sample box', async () => {
  execFileSync('git', ['clone', '--quiet', repoRoot, clone], { stdio: 'pipe' });
  execFileSync('npm', ['install', '--no-save', '--no-audit', '--no-fund', '--prefer-offline'], { cwd: clone, stdio: 'pipe', timeout: 300_000 });
  child = spawn('npm', ['start'], { cwd: clone, detached: true, env: { ...process.env, PORT: String(PORT), BOXWIRE_WORKERS: '' }, stdio: ['ignore', 'pipe', 'pipe'] });
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no URL printed within 60 s:\n${output}`)), 60_000);
    const onData = (chunk: Buffer) => {
      output += chunk;
      const match = /the sample box is at (http:\/\/\S+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child!.stdout!.on('data', onData);
    child!.stderr!.on('data', onData);
    child!.once('exit', (code) => reject(new Error(`npm start exited (${code}):\n${output}`)));
  });
  assert.is(url, `http://127.0.0.1:${PORT}/`);

  const page = await (await fetch(url)).text();
  assert.match(page, /<title>boxwire sample<\/title>/);
  assert.match(page, /src="\/app\.js"/);
  assert.match(await (await fetch(`${url}app.js`)).text(), /from '\/__boxwire\/client\.js'/);
  assert.match(await (await fetch(`${url}__boxwire/client.js`)).text(), /export function connect/);
  assert.is(await (await fetch(`${url}__SOCKET_SERVER_HOST`)).text(), `127.0.0.1:${PORT}`);

  const status = await (await fetch(`${url}__STATUS`)).json();
  assert.equal(status.servers.map((s: { name: string; roles: string[] }) => [s.name, s.roles]), [['local', ['front-door', 'api', 'upload']]]);
  assert.ok(status.servers[0].detail.workers.count >= 1);

  // The counter lives in the in-memory SHARED_STORE and is pushed to the counter room.
  const socket = new WebSocket(`ws://127.0.0.1:${PORT}/__API`);
  await new Promise((resolve, reject) => socket.once('open', resolve).once('error', reject));
  const messages: any[] = [];
  socket.on('message', (raw) => messages.push(JSON.parse(raw.toString())));
  socket.send(JSON.stringify({ id: 1, box: 'sample', join: 'counter' }));
  socket.send(JSON.stringify({ id: 2, box: 'sample', method: 'getCounter' }));
  const deadline = Date.now() + 10_000;
  while (!messages.some((m) => m.id === 2) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const start = messages.find((m) => m.id === 2).result;
  const increment = await fetch(`${url}__API/sample/increment`, { method: 'POST', body: JSON.stringify({ by: 3 }) });
  assert.equal(await increment.json(), { result: start + 3 });
  while (!messages.some((m) => m.room === 'counter') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.equal(messages.find((m) => m.room === 'counter'), { box: 'sample', room: 'counter', event: 'value', data: { value: start + 3 } });
  socket.close();

  // Upload and download on the same server.
  const form = new FormData();
  form.append('file', new Blob(['hello boxwire']), 'hello.txt');
  const uploaded = await (await fetch(`${url}__UPLOAD?box=sample`, { method: 'POST', body: form })).json();
  assert.is(await (await fetch(`${url}__RF/sample/${uploaded.files[0].id}`)).text(), 'hello boxwire');
});

test.run();
