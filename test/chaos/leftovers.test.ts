// A chaos run killed with -9 leaves namespaces (its servers still running inside), links and a
// temporary directory; the next run removes them — but only those of runs whose process is gone,
// so two runs at once never destroy each other. Real namespaces, links and processes; needs root.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { processAlive, runNames, sweepLeftovers } from './leftovers.js';

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: 'ignore' });
}
const namespaces = () => execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
const linkExists = (name: string) => spawnSync('ip', ['link', 'show', name], { stdio: 'ignore' }).status === 0;

/** What a run of process `pid` creates: a namespace with a veth inside, a bridge, a directory, a server process. */
function fakeRun(pid: number) {
  const { tag, dirPrefix } = runNames(pid, 'zz');
  const ns = `bwchaos-${tag}-s1`;
  const bridge = `bwc${tag}br`;
  const veth = `bwc${tag}v1`;
  const dir = `${dirPrefix}test`;
  ip('netns', 'add', ns);
  ip('link', 'add', bridge, 'type', 'bridge');
  ip('link', 'add', veth, 'type', 'veth', 'peer', 'name', `${veth}p`);
  ip('link', 'set', `${veth}p`, 'netns', ns);
  mkdirSync(dir);
  const server = spawn('ip', ['netns', 'exec', ns, 'sleep', '600'], { detached: true, stdio: 'ignore' });
  return { ns, bridge, veth, dir, server, remove: () => {
    try { process.kill(-server.pid!, 'SIGKILL'); } catch { /* gone */ }
    for (const args of [['netns', 'del', ns], ['link', 'del', bridge], ['link', 'del', veth]]) spawnSync('ip', args, { stdio: 'ignore' });
    rmSync(dir, { recursive: true, force: true });
  } };
}

function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const pid = Number(child.stdout.trim());
  assert.not.ok(processAlive(pid));
  return pid;
}

if (process.getuid?.() !== 0) {
  console.log('SKIP leftovers sweep: needs root (network namespaces)');
} else {
  test("the sweep removes a dead run's namespaces, links, directory and servers, and leaves a live run's alone", async () => {
    const dead = fakeRun(deadPid());
    const live = fakeRun(process.pid); // this process: a run still going
    try {
      // The fake servers are up inside their namespaces before the sweep.
      await new Promise((resolve) => setTimeout(resolve, 300));
      const inDead = execFileSync('ip', ['netns', 'pids', dead.ns], { encoding: 'utf8' }).trim();
      assert.ok(inDead.length > 0, 'a process runs in the dead run\'s namespace');
      const exited = new Promise((resolve) => dead.server.once('exit', resolve));
      const swept = sweepLeftovers();
      assert.ok(swept.namespaces.includes(dead.ns), JSON.stringify(swept));
      assert.ok(swept.links.includes(dead.bridge), JSON.stringify(swept));
      assert.ok(swept.dirs.includes(dead.dir), JSON.stringify(swept));
      assert.ok(swept.processes.includes(Number(inDead.split(/\s+/)[0])), JSON.stringify(swept));
      await exited; // its server was killed
      assert.not.ok(namespaces().includes(dead.ns));
      assert.not.ok(linkExists(dead.bridge));
      assert.not.ok(linkExists(dead.veth)); // went with its peer in the namespace
      assert.not.ok(existsSync(dead.dir));
      // The live run keeps everything.
      assert.ok(namespaces().includes(live.ns));
      assert.ok(linkExists(live.bridge) && linkExists(live.veth));
      assert.ok(existsSync(live.dir));
      assert.ok(live.server.exitCode === null);
      assert.not.ok(swept.namespaces.includes(live.ns) || swept.links.some((l) => l.startsWith(`bwc${runNames(process.pid, 'zz').tag}`)));
    } finally {
      dead.remove();
      live.remove();
    }
  });

  test('a real chaos run killed with -9: the sweep removes its namespaces and stops its servers', async () => {
    const run = spawn(process.execPath, ['--import', 'tsx', 'test/chaos/run.ts', '--servers', '2', '--seed', '1', '--seconds', '60'], { cwd: join(import.meta.dirname, '..', '..'), stdio: ['ignore', 'pipe', 'inherit'] });
    let output = '';
    const up = new Promise<void>((resolve, reject) => {
      run.stdout!.on('data', (chunk) => {
        output += chunk;
        if (output.includes('servers up')) resolve();
      });
      run.once('exit', () => reject(new Error(`the run ended early:\n${output}`)));
    });
    try {
      await up;
      const ours = /namespaces (\S+), (\S+)/.exec(output)!.slice(1);
      const serverPids = ours.flatMap((ns) => execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number));
      assert.ok(serverPids.length >= 2, 'its servers run in its namespaces');
      const exited = new Promise((resolve) => run.once('exit', resolve));
      run.kill('SIGKILL'); // no exit handler runs: everything stays behind
      await exited;
      assert.ok(ours.every((ns) => namespaces().includes(ns)), 'left behind');
      const swept = sweepLeftovers();
      assert.ok(ours.every((ns) => swept.namespaces.includes(ns) && !namespaces().includes(ns)), JSON.stringify(swept));
      assert.ok(swept.links.some((link) => link.endsWith('br')), 'its bridge');
      assert.ok(swept.dirs.some((dir) => dir.includes(`boxwire-chaos-${run.pid}-`)), 'its directory');
      for (const pid of serverPids) {
        const deadline = Date.now() + 10_000;
        while (processAlive(pid) && readState(pid) !== 'Z' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
        assert.ok(!processAlive(pid) || readState(pid) === 'Z', `server process ${pid} still runs`);
      }
    } finally {
      if (run.exitCode === null && run.signalCode === null) run.kill('SIGKILL');
    }
  });
}

/** A process's state letter (Z: a zombie, dead but not yet reaped by its parent). */
function readState(pid: number): string {
  try {
    return /State:\s+(\S)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '';
  } catch {
    return '';
  }
}

test('names fit the 15-byte limit of Linux interfaces and carry the pid', () => {
  const { tag, dirPrefix } = runNames(4194304, 'zz'); // the largest pid Linux allows
  assert.ok(`bwc${tag}v10p`.length <= 15, tag);
  assert.ok(dirPrefix.startsWith(join(tmpdir(), 'boxwire-chaos-4194304-')));
});

test.run();
