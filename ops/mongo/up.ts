/**
 * `boxwire ops mongo up`: starts this host's processes in start order — config servers, shard
 * members, then mongos (the reverse of the stop order). Each mongod is started with --fork,
 * which returns once it accepts connections; one already listening on its port is left alone.
 *
 * mongos needs a config replica set with a primary to start (MongoDB's documented order is
 * config servers → initiate → shards → initiate → mongos). On a fresh cluster `up` therefore
 * leaves the routers to `init`, which starts this host's routers once the sets have primaries.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MongoConfig } from '../../src/config/index.js';
import { OpsError } from '../errors.js';
import { adminCommand, openClient } from './connect.js';
import { checkKeyfile } from './keyfile.js';
import type { MongoPlan, PlannedProcess } from './plan.js';
import { binaryFor, isListening, runToEnd, shellQuote, tail } from './processes.js';
import { dialAddress, type HostMatcher } from './this-host.js';

export interface UpOptions {
  hosts: HostMatcher;
  dryRun?: boolean;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export function localProcesses(plan: MongoPlan, hosts: HostMatcher): PlannedProcess[] {
  return plan.processes.filter((p) => hosts.isLocal(p.host));
}

export async function runUp(mongo: MongoConfig, plan: MongoPlan, options: UpOptions): Promise<PlannedProcess[]> {
  const log = options.log ?? ((line: string) => console.log(line));
  const processes = localProcesses(plan, options.hosts);
  if (processes.length === 0) throw new OpsError(`no MongoDB process of the config runs on this host${options.hosts.explicit ? ` (${options.hosts.explicit})` : ''}; pass --host to name it`);
  if (!options.dryRun) {
    const problems = checkKeyfile(mongo.keyFile);
    if (problems.length > 0) throw new OpsError(problems.join('\n'));
  }
  const started: PlannedProcess[] = [];
  const startCtx = { log, env: options.env };
  for (const process of processes) {
    if (options.dryRun) {
      printStart(process, startCtx);
      continue;
    }
    if (process.role === 'mongos' && !(await configHasPrimary(mongo, options.hosts))) {
      log(`${process.name}: not started yet — the config replica set ${mongo.configServers.replSet} has no primary; \`boxwire ops mongo init\` starts it once it has`);
      continue;
    }
    if (await startProcess(process, startCtx)) started.push(process);
  }
  return started;
}

interface StartContext {
  log: (line: string) => void;
  env?: NodeJS.ProcessEnv;
}

function startArgv(process: PlannedProcess, env?: NodeJS.ProcessEnv): string[] {
  return [binaryFor(process.argv[0] as 'mongod' | 'mongos', env), ...process.argv.slice(1)];
}

function dirsOf(process: PlannedProcess): string[] {
  return [process.dbpath, dirname(process.logpath), dirname(process.pidfile)].filter((d): d is string => Boolean(d));
}

function printStart(process: PlannedProcess, ctx: StartContext): void {
  ctx.log(`mkdir -p -m 700 ${dirsOf(process).map(shellQuote).join(' ')}`);
  ctx.log(startArgv(process, ctx.env).map(shellQuote).join(' '));
}

/** Starts one process unless its port is taken already; true when it was started. */
export async function startProcess(process: PlannedProcess, ctx: StartContext): Promise<boolean> {
  if (await isListening('127.0.0.1', process.port)) {
    ctx.log(`${process.name}: already running on port ${process.port}`);
    return false;
  }
  for (const dir of dirsOf(process)) mkdirSync(dir, { recursive: true, mode: 0o700 });
  const result = await runToEnd(startArgv(process, ctx.env));
  if (result.code !== 0) {
    throw new OpsError(`${process.name} did not start (exit code ${result.code}):\n${result.output.trim()}\nlast lines of ${process.logpath}:\n${tail(process.logpath)}`);
  }
  ctx.log(`${process.name}: started (${process.role} on port ${process.port})`);
  return true;
}

/** Whether any config server member knows a primary (unauthenticated hello). */
export async function configHasPrimary(mongo: MongoConfig, hosts: HostMatcher): Promise<boolean> {
  for (const member of mongo.configServers.members) {
    const client = await openClient(dialAddress(member.host, member.port, hosts), undefined, { timeoutMs: 3000 }).catch(() => undefined);
    if (!client) continue;
    try {
      const hello = await adminCommand(client, { hello: 1 });
      if (hello.primary || hello.isWritablePrimary) return true;
    } catch {
      // try the next member
    } finally {
      await client.close(true);
    }
  }
  return false;
}

/** Used by init: this host's routers that are not running yet are started (keyfile checked first). */
export async function startLocalRouters(mongo: MongoConfig, plan: MongoPlan, hosts: HostMatcher, ctx: StartContext): Promise<void> {
  const routers = localProcesses(plan, hosts).filter((p) => p.role === 'mongos');
  const down: PlannedProcess[] = [];
  for (const router of routers) if (!(await isListening('127.0.0.1', router.port))) down.push(router);
  if (down.length === 0) return;
  const problems = checkKeyfile(mongo.keyFile);
  if (problems.length > 0) throw new OpsError(problems.join('\n'));
  for (const router of down) await startProcess(router, ctx);
}
