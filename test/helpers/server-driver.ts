/**
 * Drives test/fixtures/server-app.ts: one ServerNode per server of a test cluster, each bound to
 * its own loopback address (127.0.0.2, .3, …) and all sharing one port.
 */
import { createServer } from 'node:net';
import { CommandFixture, type FixtureEvent, type FixtureProcess } from './process-harness.js';

export interface NodeOptions {
  name: string;
  hosts: Record<string, string>;
  port: number;
  workers?: number;
  nest?: 'cpu-outer' | 'server-outer';
  key?: string;
  tls?: { cert: string; key: string; ca: string };
  options?: Record<string, unknown>;
  env?: Record<string, string>;
}

export class ServerNode extends CommandFixture {

  constructor(readonly name: string, readonly spec: NodeOptions) {
    super('test/fixtures/server-app.ts', [], {
      FIXTURE_SERVER: name,
      FIXTURE_HOSTS: JSON.stringify(spec.hosts),
      FIXTURE_PORT: String(spec.port),
      FIXTURE_WORKERS: String(spec.workers ?? 2),
      FIXTURE_NEST: spec.nest ?? 'cpu-outer',
      ...(spec.key ? { FIXTURE_KEY: spec.key } : {}),
      ...(spec.tls ? { FIXTURE_TLS: JSON.stringify(spec.tls) } : {}),
      ...(spec.options ? { FIXTURE_OPTIONS: JSON.stringify(spec.options) } : {}),
      ...spec.env,
    });
  }

  async ready(timeoutMs = 30_000): Promise<void> {
    await this.waitFor((e) => e.event === 'ready', 1, timeoutMs);
  }


  /** Resolves once this server's master (or solo process) has seen `server` come up `count` times. */
  async linkedTo(server: string, count = 1, timeoutMs = 30_000): Promise<FixtureEvent[]> {
    return this.waitFor((e) => e.event === 'server-up' && e.worker === 0 && e.server === server, count, timeoutMs);
  }

  async downOf(server: string, count = 1, timeoutMs = 30_000): Promise<FixtureEvent[]> {
    return this.waitFor((e) => e.event === 'server-down' && e.worker === 0 && e.server === server, count, timeoutMs);
  }

  eventsOf(name: string): FixtureEvent[] {
    return this.events.filter((e) => e.event === name);
  }
}

/** A port free on the given loopback addresses right now (the tests bind them right after). */
export async function freePort(hosts: string[] = ['127.0.0.2', '127.0.0.3', '127.0.0.4']): Promise<number> {
  for (let attempt = 0; attempt < 20; attempt++) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = createServer().listen(0, hosts[0], () => {
        const { port } = server.address() as { port: number };
        server.close(() => resolve(port));
      }).on('error', reject);
    });
    const free = await Promise.all(hosts.slice(1).map((host) => new Promise<boolean>((resolve) => {
      const server = createServer().listen(port, host, () => server.close(() => resolve(true))).on('error', () => resolve(false));
    })));
    if (free.every(Boolean)) return port;
  }
  throw new Error('no free port found on ' + hosts.join(', '));
}

/** Host map for servers named `names`, on 127.0.0.2, .3, … */
export function loopbackHosts(names: string[], first = 2): Record<string, string> {
  return Object.fromEntries(names.map((name, i) => [name, `127.0.0.${first + i}`]));
}

export async function stopAll(nodes: Array<FixtureProcess | undefined>): Promise<void> {
  await Promise.all(nodes.map((node) => node?.stop()));
}
