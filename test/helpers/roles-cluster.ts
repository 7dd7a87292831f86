/**
 * Starts servers of a cluster config as real `boxwire start` processes (each binding its own
 * 127.0.0.x address, all sharing the ports) and waits on them over HTTP with deadlines.
 */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FixtureProcess } from './process-harness.js';

export const CLUSTER_KEY = 'roles-test-cluster-key-0123456789abcdef';

export function writeConfig(config: Record<string, unknown>): { path: string; dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'boxwire-roles-'));
  const path = join(dir, 'cluster.json');
  writeFileSync(path, JSON.stringify(config, null, 2));
  return { path, dir };
}

export class ClusterServers {
  readonly servers = new Map<string, FixtureProcess>();

  constructor(readonly configPath: string, private readonly env: Record<string, string> = {}) {}

  start(name: string, extraEnv: Record<string, string> = {}): FixtureProcess {
    const server = new FixtureProcess('src/boot/cli.ts', ['start', '--config', this.configPath, '--server', name], {
      BOXWIRE_CLUSTER_KEY: CLUSTER_KEY, BOXWIRE_WORKERS: '1', ...this.env, ...extraEnv,
    });
    this.servers.set(name, server);
    return server;
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.servers.values()].map((s) => s.stop()));
  }
}

/**
 * Polls `url` until `check(response, body)` returns something other than undefined. Polling an
 * HTTP endpoint is the event here (the server has no other channel to the test); the deadline is
 * generous and the last answer is in the error.
 */
export async function waitHttp<T>(url: string, check: (status: number, body: string) => T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last = 'no answer yet';
  for (;;) {
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2000), cache: 'no-store' } as RequestInit);
      const body = await response.text();
      last = `${response.status} ${body.slice(0, 300)}`;
      const value = check(response.status, body);
      if (value !== undefined) return value;
    } catch (error) {
      last = (error as Error).message;
    }
    if (Date.now() > deadline) throw new Error(`gave up waiting on ${url}: last answer ${last}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** Waits until every server answers /__CHECK_ALIVE and the front door sees them all live. */
export async function waitClusterUp(door: string, servers: Array<{ host: string; webPort: number }>, expectLive: number, timeoutMs = 40_000): Promise<void> {
  for (const s of servers) await waitHttp(`http://${s.host}:${s.webPort}/__CHECK_ALIVE`, (status) => (status === 200 ? true : undefined), timeoutMs);
  await waitHttp(`${door}/__STATUS`, (status, body) => (status === 200 && JSON.parse(body).servers.filter((x: { live: boolean }) => x.live).length === expectLive ? true : undefined), timeoutMs);
}
