/**
 * `npm run demo:cluster`: the three-server cluster of demo/cluster.json on 127.0.0.2–4, each
 * server its own `boxwire start` process, exactly as they would run on three machines. Each
 * server prints its ready line (prefixed with its name); once all have, the front door's URL is
 * printed. Ctrl-C stops all three. A cluster key is generated unless
 * BOXWIRE_CLUSTER_KEY is set.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { READY_LINE } from './commands/start.js';
import { loadClusterConfig, packageInfo, type ClusterConfig } from '../config/index.js';
import { BoxwireError } from '../core/errors.js';

const { root } = packageInfo();
const configPath = process.env.BOXWIRE_CONFIG ?? join(root, 'demo', 'cluster.json');
const env = { ...process.env, BOXWIRE_CLUSTER_KEY: process.env.BOXWIRE_CLUSTER_KEY ?? randomBytes(24).toString('hex') };
let config: ClusterConfig;
try {
  config = loadClusterConfig(configPath, { env });
} catch (error) {
  if (!(error instanceof BoxwireError)) throw error;
  console.error(`npm run demo:cluster: ${error.message}`);
  process.exit(1);
}

const door = Object.values(config.servers).find((s) => s.roles.includes('front-door'))!;
const doorUrl = `http://${door.host}:${door.webPort}/`;
const children = new Map<string, ChildProcess>();
const up = new Set<string>();
let failed = false;

/** Each server prints its own ready line; once all have, say where to go. */
function noteReady(serverName: string): void {
  up.add(serverName);
  if (up.size === Object.keys(config.servers).length) console.log(`boxwire demo cluster: all ${up.size} servers are up; open ${doorUrl} (cluster view: ${doorUrl}__CLUSTER). Ctrl-C stops.`);
}

for (const server of Object.values(config.servers)) {
  const child = spawn(process.execPath, [join(root, 'bin', 'boxwire.js'), 'start', '--config', configPath, '--server', server.name], { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  const prefix = (line: string) => (line ? `[${server.name}] ${line}\n` : '');
  let seen = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
    process.stdout.write(chunk.split('\n').map(prefix).join(''));
    if (up.has(server.name)) return;
    seen = (seen + chunk).slice(-4096); // a line may arrive in two chunks
    if (READY_LINE.test(seen)) noteReady(server.name);
  });
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => process.stderr.write(chunk.split('\n').map(prefix).join('')));
  child.on('exit', (code, signal) => {
    children.delete(server.name);
    console.log(`[${server.name}] exited (${signal ?? code})`);
    // One server that cannot start (its line says why) makes the demo pointless: stop the others.
    if (code !== 0 && code !== null && up.size < Object.keys(config.servers).length && !failed) {
      failed = true;
      console.error(`boxwire demo cluster: ${server.name} could not start; stopping the others`);
      stop('SIGTERM');
    }
    if (children.size === 0) process.exit(failed ? 1 : 0);
  });
  children.set(server.name, child);
}

console.log(`boxwire demo cluster: starting ${[...children.keys()].join(', ')} (front door ${doorUrl})…`);

const stop = (signal: NodeJS.Signals) => {
  for (const child of children.values()) child.kill(signal);
};
process.on('SIGINT', () => stop('SIGTERM'));
process.on('SIGTERM', () => stop('SIGTERM'));
