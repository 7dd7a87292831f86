/**
 * `boxwire ops mongo up`: starts this host's processes in start order — config servers, shard
 * members, then mongos (the reverse of the stop order). Each mongod is started with --fork,
 * which returns once it accepts connections; one already listening on its port is left alone.
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import type { MongoConfig } from '../../src/boot/config.js';
import { OpsError } from '../errors.js';
import { checkKeyfile } from './keyfile.js';
import type { MongoPlan, PlannedProcess } from './plan.js';
import { binaryFor, isListening, runToEnd, shellQuote, tail } from './processes.js';
import type { HostMatcher } from './this-host.js';

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
  for (const process of processes) {
    const argv = [binaryFor(process.argv[0] as 'mongod' | 'mongos', options.env), ...process.argv.slice(1)];
    const dirs = [process.dbpath, dirname(process.logpath), dirname(process.pidfile)].filter((d): d is string => Boolean(d));
    if (options.dryRun) {
      log(`mkdir -p -m 700 ${dirs.map(shellQuote).join(' ')}`);
      log(argv.map(shellQuote).join(' '));
      continue;
    }
    if (await isListening('127.0.0.1', process.port)) {
      log(`${process.name}: already running on port ${process.port}`);
      continue;
    }
    for (const dir of dirs) mkdirSync(dir, { recursive: true, mode: 0o700 });
    const result = await runToEnd(argv);
    if (result.code !== 0) {
      throw new OpsError(`${process.name} did not start (exit code ${result.code}):\n${result.output.trim()}\nlast lines of ${process.logpath}:\n${tail(process.logpath)}`);
    }
    log(`${process.name}: started (${process.role} on port ${process.port})`);
    started.push(process);
  }
  return started;
}
