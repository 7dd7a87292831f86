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

const run = promisify(execFile);

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

/** A 3-master Redis Cluster on free ports, made with `redis-cli --cluster create`. */
export class RedisClusterHarness {
  readonly nodes: RedisServer[] = [];

  async start(count = 3): Promise<this> {
    for (let i = 0; i < count; i++) {
      const node = new RedisServer();
      node.port = await freeTcpPort();
      await node.start(['--cluster-enabled', 'yes', '--cluster-config-file', join(node.dir, 'nodes.conf'), '--cluster-node-timeout', '2000', '--appendonly', 'no']);
      this.nodes.push(node);
    }
    await run('redis-cli', ['--cluster', 'create', ...this.nodes.map((n) => `${n.host}:${n.port}`), '--cluster-yes']);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      const states = await Promise.all(this.nodes.map((n) => n.cli('CLUSTER', 'INFO').then((r) => /cluster_state:ok/.test(r.stdout))));
      if (states.every(Boolean)) return this;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    throw new Error('redis cluster did not reach cluster_state:ok within 20 s');
  }

  /** "host:port" of every master, as boxwire's `redis.cluster` setting takes them. */
  get seeds(): string[] {
    return this.nodes.map((n) => `${n.host}:${n.port}`);
  }

  async dispose(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.dispose()));
  }
}
