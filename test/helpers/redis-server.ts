/**
 * Real redis-server processes for tests: one server on a free loopback port (kill -9, restart
 * with or without its data, a replica, CLIENT/SCRIPT commands through redis-cli), or a 3-master
 * Redis Cluster made with `redis-cli --cluster create`. Everything is stopped by pid.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
/** Every redis-cli call has a deadline: a command that never answers fails the test, never hangs it. */
const run = (file: string, args: string[], timeout = 15_000) => execFileAsync(file, args, { timeout, killSignal: 'SIGKILL' });

/** A port nobody listens on right now (the kernel's choice, released at once). */
export function freeTcpPort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

function canConnect(host: string, port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    socket.once('connect', () => { socket.destroy(); resolve(true); });
    socket.once('error', () => resolve(false));
  });
}

export interface RedisServerOptions {
  host?: string;
  port?: number;
  /** Extra redis-server arguments, e.g. ['--appendonly', 'yes'] or ['--replicaof', 'h', 'p']. */
  args?: string[];
  /** Keep data in this folder across restarts (default: a fresh temporary folder). */
  dir?: string;
}

export class RedisServer {
  readonly host: string;
  port = 0;
  /** The cluster bus port (cluster mode only): chosen free like the port, not the default port + 10000,
   * which is over 65535 for ports above 55535 and may be anybody's. */
  busPort = 0;
  readonly dir: string;
  private child?: ChildProcess;
  private exited?: Promise<void>;
  private readonly ownsDir: boolean;

  constructor(private readonly options: RedisServerOptions = {}) {
    this.host = options.host ?? '127.0.0.1';
    this.ownsDir = !options.dir;
    this.dir = options.dir ?? mkdtempSync(join(tmpdir(), 'boxwire-redis-'));
  }

  get url(): string {
    return `redis://${this.host}:${this.port}`;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Whether the process is running (started and not exited). */
  get running(): boolean {
    return !!this.child && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** Starts redis-server and resolves once it accepts connections. */
  async start(extraArgs: string[] = []): Promise<this> {
    if (!this.port) this.port = this.options.port ?? (await freeTcpPort(this.host));
    const args = ['--port', String(this.port), '--bind', this.host, '--save', '', '--dir', this.dir, '--protected-mode', 'no', ...(this.options.args ?? []), ...extraArgs];
    const child = spawn('redis-server', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    let log = '';
    child.stdout!.on('data', (chunk) => (log = (log + chunk).slice(-4_000)));
    child.stderr!.on('data', (chunk) => (log = (log + chunk).slice(-4_000)));
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 10_000;
    while (!(await this.ping())) {
      if (child.exitCode !== null) throw new Error(`redis-server exited at start (code ${child.exitCode}): ${log}`);
      if (Date.now() > deadline) throw new Error(`redis-server on ${this.host}:${this.port} did not answer PING in 10 s: ${log}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    return this;
  }

  private async ping(): Promise<boolean> {
    if (!(await canConnect(this.host, this.port))) return false;
    try {
      const { stdout } = await this.cli('PING');
      return stdout.trim() === 'PONG';
    } catch {
      return false;
    }
  }

  /** Runs redis-cli against this server. */
  cli(...args: string[]): Promise<{ stdout: string; stderr: string }> {
    return run('redis-cli', ['-h', this.host, '-p', String(this.port), ...args]);
  }

  /** kill -9: no shutdown, no save. */
  async kill9(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGKILL');
    await this.exited;
  }

  /** A clean stop (SIGTERM: with persistence on, redis writes what it must first). */
  async stop(): Promise<void> {
    if (!this.child || this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }

  /** Starts again on the same port; with `wipe`, from an empty data folder. */
  async restart(options: { wipe?: boolean; args?: string[] } = {}): Promise<this> {
    await this.stop();
    if (options.wipe) {
      rmSync(this.dir, { recursive: true, force: true });
      mkdirSync(this.dir, { recursive: true });
    }
    return this.start(options.args);
  }

  /** Stops the server and removes its temporary folder. */
  async dispose(): Promise<void> {
    await this.kill9();
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }
}

function clusterArgs(node: RedisServer): string[] {
  return ['--cluster-enabled', 'yes', '--cluster-port', String(node.busPort), '--cluster-config-file', join(node.dir, 'nodes.conf'), '--cluster-node-timeout', '2000', '--appendonly', 'no'];
}

/** A 3-master Redis Cluster on free ports (optionally with replicas), made with `redis-cli --cluster create`. */
export class RedisClusterHarness {
  readonly nodes: RedisServer[] = [];

  /** `count` masters, each with `replicas` replicas (`--cluster-replicas`). */
  async start(count = 3, replicas = 0): Promise<this> {
    try {
      await this.create(count, replicas);
    } catch (error) {
      await this.dispose(); // the test's finally has no harness to stop yet
      throw error;
    }
    return this;
  }

  private async create(count: number, replicas: number): Promise<void> {
    for (let i = 0; i < count * (1 + replicas); i++) {
      const node = new RedisServer();
      node.port = await freeTcpPort();
      node.busPort = await freeTcpPort();
      this.nodes.push(node);
      await node.start(clusterArgs(node));
    }
    // redis-cli waits for the nodes to join without a limit of its own.
    await run('redis-cli', ['--cluster', 'create', ...this.nodes.map((n) => `${n.host}:${n.port}`), '--cluster-replicas', String(replicas), '--cluster-yes'], 60_000)
      .catch((error: Error) => { throw new Error(`redis-cli --cluster create did not finish in 60 s: ${error.message}`); });
    await this.untilOk(this.nodes, 20_000);
  }

  /** Starts a node that was killed again, on its port with its nodes.conf (it rejoins the cluster). */
  async restartNode(node: RedisServer): Promise<void> {
    await node.start(clusterArgs(node));
  }

  /** Resolves once every one of `nodes` says cluster_state:ok (and, with replicas, every replica has synced). */
  async untilOk(nodes: RedisServer[] = this.nodes, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const states = await Promise.all(nodes.map(async (n) => {
        const info = (await n.cli('CLUSTER', 'INFO').catch(() => ({ stdout: '' }))).stdout;
        const replication = (await n.cli('INFO', 'replication').catch(() => ({ stdout: '' }))).stdout;
        return /cluster_state:ok/.test(info) && (!/role:slave/.test(replication) || /master_link_status:up/.test(replication));
      }));
      if (states.every(Boolean)) return;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error(`redis cluster did not reach cluster_state:ok within ${timeoutMs} ms`);
  }

  /** The running node that is master of `slot` now (as CLUSTER NODES on a running node says). */
  async masterOf(slot: number): Promise<RedisServer> {
    const alive = this.nodes.filter((n) => n.running);
    const { stdout } = await alive[0].cli('CLUSTER', 'NODES');
    for (const line of stdout.split('\n')) {
      const [, address, flags, , , , , state, ...ranges] = line.split(' ');
      if (!flags?.includes('master') || flags.includes('fail') || state !== 'connected') continue;
      const owns = ranges.some((range) => {
        const [low, high = low] = range.split('-').map(Number);
        return slot >= low && slot <= high;
      });
      const port = Number(address.split('@')[0].split(':')[1]);
      if (owns) return this.nodes.find((n) => n.port === port)!;
    }
    throw new Error(`no connected master serves slot ${slot}`);
  }

  /** The nodes that are masters now. */
  async masters(): Promise<RedisServer[]> {
    const alive = this.nodes.filter((n) => n.running);
    const roles = await Promise.all(alive.map(async (n) => /role:master/.test((await n.cli('INFO', 'replication')).stdout)));
    return alive.filter((_, i) => roles[i]);
  }

  /** Resolves once every master's replicas have acknowledged all of its writes (before killing it). */
  async untilReplicated(timeoutMs = 15_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      const synced = await Promise.all((await this.masters()).map(async (n) => {
        const info = (await n.cli('INFO', 'replication')).stdout;
        const offset = /master_repl_offset:(\d+)/.exec(info)?.[1];
        const replicas = [...info.matchAll(/slave\d+:.*offset=(\d+)/g)].map((m) => m[1]);
        return replicas.every((o) => o === offset);
      }));
      if (synced.every(Boolean)) return;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    throw new Error(`replicas did not catch up within ${timeoutMs} ms`);
  }

  /** "host:port" of every master, as boxwire's `redis.cluster` setting takes them. */
  get seeds(): string[] {
    return this.nodes.map((n) => `${n.host}:${n.port}`);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}
