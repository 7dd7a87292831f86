// Starts the app as `npm start` does, on a free port, and calls the box method over HTTP.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { join } from 'node:path';

const root = join(import.meta.dirname, '..');

async function freePort(): Promise<number> {
  const probe = createServer().listen(0, '127.0.0.1');
  await once(probe, 'listening');
  const { port } = probe.address() as { port: number };
  probe.close();
  return port;
}

test('the app starts and answers its method', async (t) => {
  const port = await freePort();
  const app = spawn(process.execPath, ['--import', 'tsx', join(root, 'server.ts')], {
    cwd: root,
    env: { ...process.env, PORT: String(port), BOXWIRE_WORKERS: '1' },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  t.after(async () => {
    if (app.exitCode === null) {
      app.kill('SIGTERM');
      await once(app, 'exit');
    }
  });
  // Wait for the line server.ts prints once it serves (or for the app to exit early).
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    app.stdout!.on('data', (chunk) => {
      out += chunk;
      const match = /listening at (\S+)/.exec(out);
      if (match) resolve(match[1]);
    });
    app.once('exit', (code) => reject(new Error(`the app exited with code ${code} before listening:\n${out}`)));
  });

  const response = await fetch(`${url}__API/main/hello`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name: 'test' }),
  });
  assert.equal(response.status, 200);
  const { result } = (await response.json()) as { result: { message: string; count: number } };
  assert.equal(result.message, 'Hello, test!');
  assert.ok(result.count >= 1);

  const page = await fetch(url);
  assert.equal(page.status, 200);
  assert.match(await page.text(), /Hello from boxwire/);
});
