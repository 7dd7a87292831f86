/**
 * `boxwire ops mongo down`: the documented stop order — stop the balancer, then the routers,
 * then each shard (secondaries first, primary last, so no election races the shutdown), then
 * the config servers the same way. It acts on this host's processes; on several hosts run it
 * phase by phase (`--phase routers` on every host, then `--phase shards`, then `--phase config`).
 *
 * mongos gets the admin `shutdown` command (it has no --shutdown flag); a mongod gets
 * `mongod --dbpath <dbpath> --shutdown`, which needs no login.
 */
import type { MongoClient } from 'mongodb';
import type { MongoConfig } from '../../src/config/index.js';
import { OpsError } from '../errors.js';
import { adminCommand, ClientPool, Codes, hasCode, openClient } from './connect.js';
import { memberAddress, redact, type MongoPlan, type PlannedProcess, type StopStep } from './plan.js';
import { binaryFor, isListening, readPid, runToEnd, shellQuote, waitForPort } from './processes.js';
import { dialAddress, type HostMatcher } from './this-host.js';

export type DownPhase = 'balancer' | 'routers' | 'shards' | 'config' | 'all';
export const DOWN_PHASES: DownPhase[] = ['balancer', 'routers', 'shards', 'config', 'all'];

export interface DownOptions {
  hosts: HostMatcher;
  phase?: DownPhase;
  dryRun?: boolean;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  connectTimeoutMs?: number;
  /** How long one process may take to exit; default 120 s (a primary waits for secondaries). */
  stopTimeoutMs?: number;
}

const PHASE_OF: Record<StopStep['kind'], (step: StopStep) => DownPhase> = {
  balancerStop: () => 'balancer',
  shutdownRouters: () => 'routers',
  shutdownReplicaSet: (step) => (step.role === 'configsvr' ? 'config' : 'shards'),
};

interface DownContext {
  mongo: MongoConfig;
  plan: MongoPlan;
  options: DownOptions;
  pool: ClientPool;
  log: (line: string) => void;
}

export async function runDown(mongo: MongoConfig, plan: MongoPlan, options: DownOptions): Promise<void> {
  const phase = options.phase ?? 'all';
  const ctx: DownContext = { mongo, plan, options, pool: new ClientPool({ timeoutMs: options.connectTimeoutMs ?? 5000 }), log: options.log ?? ((line) => console.log(line)) };
  try {
    for (const step of plan.stopOrder) {
      if (phase !== 'all' && PHASE_OF[step.kind](step) !== phase) continue;
      ctx.log(`== ${step.step}`);
      if (step.kind === 'balancerStop') await stopBalancer(step, ctx);
      else if (step.kind === 'shutdownRouters') await stopRouters(step, ctx);
      else await stopReplicaSet(step, ctx);
    }
  } finally {
    await ctx.pool.closeAll();
  }
}

function processesOf(step: StopStep, ctx: DownContext): PlannedProcess[] {
  return step.processes
    .map((address) => ctx.plan.processes.find((p) => memberAddress(p) === address && ctx.options.hosts.isLocal(p.host)))
    .filter((p): p is PlannedProcess => p !== undefined);
}

async function stopBalancer(step: StopStep, ctx: DownContext): Promise<void> {
  // Any router will do; prefer this host's.
  const routers = [...ctx.mongo.routers].sort((a, b) => Number(ctx.options.hosts.isLocal(b.host)) - Number(ctx.options.hosts.isLocal(a.host)));
  if (ctx.options.dryRun) {
    ctx.log(`  ${memberAddress(routers[0])} as root, db admin: ${JSON.stringify(redact(step.command))}`);
    return;
  }
  for (const router of routers) {
    const address = dialAddress(router.host, router.port, ctx.options.hosts);
    let client: MongoClient;
    try {
      client = await ctx.pool.get(address, ctx.mongo.users.root);
    } catch (error) {
      if (hasCode(error, Codes.AuthenticationFailed)) throw new OpsError(`the root login (mongo.users.root) is refused by ${address}`, { cause: error });
      continue; // not running: try the next router
    }
    await adminCommand(client, step.command ?? { balancerStop: 1 });
    ctx.log(`  balancer stopped (through ${memberAddress(router)})`);
    return;
  }
  ctx.log('  no mongos reachable: nothing to stop');
}

async function stopRouters(step: StopStep, ctx: DownContext): Promise<void> {
  for (const router of processesOf(step, ctx)) {
    if (ctx.options.dryRun) {
      ctx.log(`  ${router.name}: 127.0.0.1:${router.port} as root, db admin: ${JSON.stringify(step.command)}`);
      continue;
    }
    if (!(await isListening('127.0.0.1', router.port))) {
      ctx.log(`  ${router.name}: not running`);
      continue;
    }
    await shutdownRouter(router, ctx);
    await waitForPort('127.0.0.1', router.port, false, ctx.options.stopTimeoutMs ?? 120_000);
    ctx.log(`  ${router.name}: stopped`);
  }
}

async function shutdownRouter(router: PlannedProcess, ctx: DownContext): Promise<void> {
  const address = `127.0.0.1:${router.port}`;
  try {
    const client = await ctx.pool.get(address, ctx.mongo.users.root);
    await adminCommand(client, { shutdown: 1 }).catch(() => undefined); // the connection dies with the server: expected
    await ctx.pool.forget(address, ctx.mongo.users.root);
  } catch (error) {
    // No login (users not created yet, or wrong password): the pidfile still lets us stop it cleanly.
    const pid = readPid(router.pidfile);
    if (!pid) throw new OpsError(`cannot stop ${router.name}: the root login failed (${(error as Error).message}) and ${router.pidfile} holds no pid`, { cause: error });
    process.kill(pid, 'SIGTERM');
  }
}

async function stopReplicaSet(step: StopStep, ctx: DownContext): Promise<void> {
  const members = processesOf(step, ctx);
  const ordered = ctx.options.dryRun ? members : await secondariesFirst(members);
  for (const member of ordered) {
    const argv = [binaryFor('mongod', ctx.options.env), '--dbpath', member.dbpath ?? '', '--shutdown'];
    if (ctx.options.dryRun) {
      ctx.log(`  ${member.name}: ${argv.map(shellQuote).join(' ')}`);
      continue;
    }
    if (!(await isListening('127.0.0.1', member.port))) {
      ctx.log(`  ${member.name}: not running`);
      continue;
    }
    const result = await runToEnd(argv);
    if (result.code !== 0) throw new OpsError(`${member.name}: \`${argv.join(' ')}\` failed (exit code ${result.code}): ${result.output.trim()}`);
    await waitForPort('127.0.0.1', member.port, false, ctx.options.stopTimeoutMs ?? 120_000);
    ctx.log(`  ${member.name}: stopped`);
  }
}

/** Asks each running member (unauthenticated `hello`) whether it is primary; primaries go last. */
async function secondariesFirst(members: PlannedProcess[]): Promise<PlannedProcess[]> {
  const primary = new Set<string>();
  for (const member of members) {
    if (!(await isListening('127.0.0.1', member.port))) continue;
    const client = await openClient(`127.0.0.1:${member.port}`, undefined, { timeoutMs: 5000 }).catch(() => undefined);
    if (!client) continue;
    try {
      const hello = await adminCommand(client, { hello: 1 });
      if (hello.isWritablePrimary) primary.add(member.name);
    } finally {
      await client.close(true);
    }
  }
  return [...members.filter((m) => !primary.has(m.name)), ...members.filter((m) => primary.has(m.name))];
}
