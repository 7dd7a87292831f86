/**
 * Runs a real nginx or HAProxy from a generated config text, in the foreground, in a private
 * directory, and stops it by its pid. Used by the load balancer tests (routing, end to end,
 * rolling restarts); nothing here talks to a system-wide nginx or HAProxy.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { waitForPort } from '../../ops/mongo/processes.js';

export interface RunningLb {
  kind: 'nginx' | 'haproxy';
  dir: string;
  child: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

/** Starts the proxy and waits until it listens on `host:port` (or fails with its own words). */
export async function startLb(kind: 'nginx' | 'haproxy', configText: string, wait: { host: string; port: number }): Promise<RunningLb> {
  const dir = mkdtempSync(join(tmpdir(), `boxwire-${kind}-`));
  let output = '';
  let child: ChildProcess;
  if (kind === 'nginx') {
    mkdirSync(join(dir, 'logs'));
    mkdirSync(join(dir, 'tmp'));
    writeFileSync(join(dir, 'nginx.conf'), configText);
    child = spawn('nginx', ['-p', dir, '-c', join(dir, 'nginx.conf')], { stdio: ['ignore', 'pipe', 'pipe'] });
  } else {
    writeFileSync(join(dir, 'haproxy.cfg'), configText);
    // -db: foreground, no daemon; logs go to stdout (the generated `log stdout`).
    child = spawn('haproxy', ['-db', '-f', join(dir, 'haproxy.cfg')], { stdio: ['ignore', 'pipe', 'pipe'] });
  }
  child.stdout!.on('data', (c) => (output += c));
  child.stderr!.on('data', (c) => (output += c));
  const readLog = () => {
    if (kind !== 'nginx') return output;
    try {
      return output + readFileSync(join(dir, 'logs', 'error.log'), 'utf8');
    } catch {
      return output;
    }
  };
  const exited = once(child, 'exit').then(([code]) => {
    throw new Error(`${kind} exited (${code}): ${readLog()}`);
  });
  exited.catch(() => undefined);
  await Promise.race([waitForPort(wait.host, wait.port, true, 15_000, 50), exited]);
  return {
    kind, dir, child,
    output: readLog,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = once(child, 'exit');
      child.kill('SIGTERM');
      await gone;
    },
  };
}

/** nginx's `user` directive is only allowed (and needed) when it starts as root. */
export function nginxUser(): string | undefined {
  return process.getuid?.() === 0 ? 'root' : undefined;
}

/** One port free on every address (a cluster's servers share their webPort), and free on 127.0.0.1. */
export async function portFreeOnAll(hosts: string[]): Promise<number> {
  const { createServer } = await import('node:net');
  const probe = (host: string, port: number) => new Promise<number>((resolve, reject) => {
    const server = createServer().once('error', reject).listen(port, host, () => {
      const bound = (server.address() as import('node:net').AddressInfo).port;
      server.close(() => resolve(bound));
    });
  });
  for (let attempt = 0; attempt < 50; attempt++) {
    const port = await probe(hosts[0], 0);
    try {
      for (const host of hosts.slice(1)) await probe(host, port);
      return port;
    } catch {
      continue;
    }
  }
  throw new Error(`no port free on all of ${hosts.join(', ')}`);
}

/** Adds an admin socket to a generated HAProxy config (tests read server states from it). */
export function withHaproxyStatsSocket(configText: string, socketPath: string): string {
  return configText.replace('\nglobal\n', `\nglobal\n    stats socket ${socketPath} mode 600 level admin\n`);
}

/** `backend/server` → status (`UP`, `DOWN`, `MAINT`, `UP 1/2`…) from HAProxy's `show stat`. */
export async function haproxyServerStates(socketPath: string): Promise<Record<string, string>> {
  const { connect } = await import('node:net');
  const text = await new Promise<string>((resolve, reject) => {
    let out = '';
    const socket = connect(socketPath, () => socket.end('show stat\n'));
    socket.on('data', (c) => (out += c));
    socket.on('end', () => resolve(out));
    socket.on('error', reject);
  });
  const [header, ...rows] = text.trim().split('\n');
  const columns = header.replace(/^# /, '').split(',');
  const at = (name: string) => columns.indexOf(name);
  const states: Record<string, string> = {};
  for (const row of rows) {
    const cells = row.split(',');
    const server = cells[at('svname')];
    if (server === 'FRONTEND' || server === 'BACKEND') continue;
    states[`${cells[at('pxname')]}/${server}`] = cells[at('status')];
  }
  return states;
}

/**
 * The cluster config of the load balancer tests: one server per address, its role from its name
 * (`door` front door, `api…` API, `up…` upload with its own dataDir), one shared free webPort.
 */
export async function writeLbClusterConfig(hosts: Record<string, string>, extra: Record<string, unknown> = {}): Promise<{ path: string; dir: string; webPort: number; servers: Record<string, { host: string; webPort: number }> }> {
  const { writeConfig } = await import('./roles-cluster.js');
  const webPort = await portFreeOnAll(Object.values(hosts));
  let clusteringPort = await portFreeOnAll(Object.values(hosts));
  while (clusteringPort === webPort) clusteringPort = await portFreeOnAll(Object.values(hosts));
  const roleOf = (name: string) => (name === 'door' ? 'front-door' : name.startsWith('api') ? 'api' : 'upload');
  const servers = Object.fromEntries(Object.entries(hosts).map(([name, host]) => [name, {
    host, webPort, roles: [roleOf(name)], ...(roleOf(name) === 'upload' ? { dataDir: name } : {}),
  }]));
  const written = writeConfig({ clusteringPort, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'], maxUploadFileMB: 5, servers, ...extra });
  return { ...written, webPort, servers };
}
