/**
 * Starts test/fixtures/store-app.ts in one of the four modes: one process (solo), one server with
 * CPU clustering (cpu), three servers on 127.0.0.2–.4 (server), or three servers × 2 workers
 * (both). Optional TCP proxies in front of B and C as seen from A, to partition {A} | {B, C}
 * (A's name sorts first, so A dials both links).
 */
import { CommandFixture } from './process-harness.js';
import { freePort, loopbackHosts } from './server-driver.js';
import { TcpProxy } from './tcp-proxy.js';

export type StoreMode = 'solo' | 'cpu' | 'server' | 'both';

export class StoreNode extends CommandFixture {

  constructor(readonly name: string, readonly mode: StoreMode, readonly env: Record<string, string>) {
    super('test/fixtures/store-app.ts', [], { STORE_MODE: mode, FIXTURE_SERVER: name, ...env }, 60_000);
  }

  async ready(timeoutMs = 30_000): Promise<void> {
    await this.waitFor((e) => e.event === 'ready', 1, timeoutMs);
  }


  /** Runs a command and returns its value; throws with the remote error when it failed. */
  async value(command: Record<string, unknown>, timeoutMs?: number): Promise<any> {
    const result = await this.run(command, timeoutMs);
    if (!result.ok) throw new Error(`${this.name} ${JSON.stringify(command)} failed: ${JSON.stringify(result.error)}`);
    return result.value;
  }
}

export interface StoreCluster {
  nodes: StoreNode[];
  /** The processes to read/write from: [node, worker id (0 = master / single process)]. */
  processes: Array<[StoreNode, number]>;
  proxies: TcpProxy[];
  stop(): Promise<void>;
}

export interface ClusterOptions {
  partitionable?: boolean;
  /** Extra env per server name. */
  env?: Record<string, Record<string, string>>;
  workers?: number;
  /** Env for every server. */
  common?: Record<string, string>;
}

export async function startStoreCluster(mode: StoreMode, options: ClusterOptions = {}): Promise<StoreCluster> {
  const workers = options.workers ?? 2;
  const names = mode === 'server' || mode === 'both' ? ['A', 'B', 'C'] : ['local'];
  const nodes: StoreNode[] = [];
  const proxies: TcpProxy[] = [];
  const common: Record<string, string> = { FIXTURE_WORKERS: String(workers), ...options.common };
  const specs: Array<{ name: string; env: Record<string, string> }> = [];
  if (names.length > 1) {
    const port = await freePort();
    const hosts = loopbackHosts(names);
    for (const name of names) specs.push({ name, env: { FIXTURE_HOSTS: JSON.stringify(hosts), FIXTURE_PORT: String(port) } });
    if (options.partitionable) {
      const viewOfA = { ...hosts };
      for (const peer of ['B', 'C']) {
        const host = hosts[peer];
        const proxy = new TcpProxy('127.0.0.1', { host, port });
        viewOfA[peer] = `127.0.0.1:${await proxy.start()}`;
        proxies.push(proxy);
      }
      specs[0].env.FIXTURE_HOSTS = JSON.stringify(viewOfA);
    }
  } else {
    specs.push({ name: 'local', env: {} });
  }
  for (const spec of specs) nodes.push(new StoreNode(spec.name, mode, { ...common, ...spec.env, ...options.env?.[spec.name] }));
  const stop = async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await Promise.all(proxies.map((p) => p.close()));
  };
  try {
    await Promise.all(nodes.map((n) => n.ready()));
  } catch (error) {
    await stop();
    throw error;
  }
  const processes: Array<[StoreNode, number]> = [];
  for (const node of nodes) {
    if (mode === 'cpu' || mode === 'both') for (let w = 1; w <= workers; w++) processes.push([node, w]);
    else processes.push([node, 0]);
  }
  return { nodes, processes, proxies, stop };
}
