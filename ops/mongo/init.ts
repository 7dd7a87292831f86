/**
 * `boxwire ops mongo init`: runs the plan's admin commands in order through the mongodb
 * driver. Each step is first checked (reads only) and skipped when already done, so init can be
 * rerun at any time — after a failure, after adding a shard or a collection to the config.
 * A failing step stops the run with its name and how to resume.
 */
import type { MongoConfig } from '../../src/config/index.js';
import { OpsError, StepFailedError } from '../errors.js';
import { ClientPool } from './connect.js';
import { redact, type MongoPlan, type PlannedCommand } from './plan.js';
import { splitAddress, STEP_RUNNERS, type StepContext } from './steps.js';
import type { HostMatcher } from './this-host.js';
import { startLocalRouters } from './up.js';

export interface InitOptions {
  hosts: HostMatcher;
  dryRun?: boolean;
  /** Printed in the resume hint; default `cluster.json`. */
  configPath?: string;
  log?: (line: string) => void;
  pollIntervalMs?: number;
  primaryTimeoutMs?: number;
  connectTimeoutMs?: number;
  /** For starting this host's routers (MONGOS_BIN); default process.env. */
  env?: NodeJS.ProcessEnv;
}

export type StepOutcome = 'done' | 'skipped' | 'planned';

export interface InitResult {
  steps: Array<{ step: string; outcome: StepOutcome }>;
}

export async function runInit(mongo: MongoConfig, plan: MongoPlan, options: InitOptions): Promise<InitResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const total = plan.commands.length;
  const result: InitResult = { steps: [] };
  if (options.dryRun) {
    plan.commands.forEach((command, i) => {
      log(`[${i + 1}/${total}] ${command.step}\n    ${describeTarget(command)} db ${command.db}: ${JSON.stringify(redact(command.command))}`);
      result.steps.push({ step: command.step, outcome: 'planned' });
    });
    return result;
  }
  const ctx: StepContext = {
    mongo, hosts: options.hosts, pool: new ClientPool({ timeoutMs: options.connectTimeoutMs }),
    pollIntervalMs: options.pollIntervalMs ?? 500, primaryTimeoutMs: options.primaryTimeoutMs ?? 120_000,
  };
  try {
    for (const [i, command] of plan.commands.entries()) {
      // mongos starts only once the config replica set has a primary: now it has.
      if (command.kind === 'createRootUser') await startLocalRouters(mongo, plan, options.hosts, { log, env: options.env });
      const outcome = await runStep(command, i, total, ctx, options.configPath ?? 'cluster.json');
      log(`[${i + 1}/${total}] ${command.step}: ${outcome === 'skipped' ? 'already done' : 'done'}`);
      result.steps.push({ step: command.step, outcome });
    }
  } finally {
    await ctx.pool.closeAll();
  }
  return result;
}

async function runStep(command: PlannedCommand, index: number, total: number, ctx: StepContext, configPath: string): Promise<StepOutcome> {
  const runner = STEP_RUNNERS[command.kind];
  const rerun = `To resume: fix the cause, then rerun \`boxwire ops mongo init --config ${configPath}\`; finished steps are detected and skipped.`;
  try {
    if (await runner.isDone(command, ctx)) return 'skipped';
    const { host } = splitAddress(command.target);
    if (command.localhostException && !ctx.hosts.isLocal(host)) {
      throw new StepFailedError(command.step, index, total,
        `MongoDB accepts this step only over localhost until the first user exists, and ${host} is not this machine`,
        `To resume: run \`boxwire ops mongo init --config ${configPath}\` on ${host}, then rerun it here; finished steps are detected and skipped.`);
    }
    await runner.run(command, ctx);
    return 'done';
  } catch (error) {
    if (error instanceof StepFailedError) throw error;
    const detail = error instanceof OpsError ? error.message : `${(error as Error).name}: ${(error as Error).message}`;
    throw new StepFailedError(command.step, index, total, `${detail} (target ${command.target})`, rerun, { cause: error });
  }
}

function describeTarget(command: PlannedCommand): string {
  const how = command.localhostException ? ' over localhost' : '';
  const auth = command.auth === 'root' ? ' as root' : '';
  return `${command.target}${how}${auth}`;
}
