/**
 * `npm run demo:cluster`: the three-server cluster of demo/cluster.json on 127.0.0.2–4, each
 * server its own `boxwire start` process, exactly as they would run on three machines. Prints
 * the front door's URL; Ctrl-C stops all three. A cluster key is generated unless
 * BOXWIRE_CLUSTER_KEY is set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { loadClusterConfig } from './config.js';

const root = join(import.meta.dirname, '..', '..');
const configPath = process.env.BOXWIRE_CONFIG ?? join(root, 'demo', 'cluster.json');
const env = { ...process.env, BOXWIRE_CLUSTER_KEY: process.env.BOXWIRE_CLUSTER_KEY ?? randomBytes(24).toString('hex') };
const config = loadClusterConfig(configPath, { env });

const children = new Map<string, ChildProcess>();
for (const server of Object.values(config.servers)) {
  const child = spawn(process.execPath, [join(root, 'bin', 'boxwire.js'), 'start', '--config', configPath, '--server', server.name], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (line: string) => (line ? `[${server.name}] ${line}\n` : '');
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => process.stdout.write(chunk.split('\n').map(prefix).join('')));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => process.stderr.write(chunk.split('\n').map(prefix).join('')));
  child.on('exit', (code, signal) => {
    children.delete(server.name);
    console.log(`[${server.name}] exited (${signal ?? code})`);
    if (children.size === 0) process.exit(0);
  });
  children.set(server.name, child);
}

const door = Object.values(config.servers).find((s) => s.roles.includes('front-door'))!;
console.log(`boxwire demo cluster: ${[...children.keys()].join(', ')} starting; open http://${door.host}:${door.webPort}/ (cluster view: /__CLUSTER). Ctrl-C stops.`);

const stop = (signal: NodeJS.Signals) => {
  for (const child of children.values()) child.kill(signal);
};
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
