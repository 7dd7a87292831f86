/** `boxwire ops mongo …`: the subcommands, each a thin layer over its module. */
import { loadClusterConfig, type MongoConfig } from '../../src/config/index.js';
import { requireConfigPath, type CommandGroup, type SubCommand, type Values } from '../command.js';
import { OpsError } from '../errors.js';
import { DOWN_PHASES, runDown, type DownPhase } from './down.js';
import { runInit } from './init.js';
import { checkKeyfile, generateKeyfile, keyfileFingerprint } from './keyfile.js';
import { runMigrate } from './migrate.js';
import { buildMongoPlan, redact, type MongoPlan } from './plan.js';
import { formatStatus, readStatus } from './status.js';
import { hostMatcher } from './this-host.js';
import { runUp } from './up.js';

const configOption = { config: { type: 'string', short: 'c' } } as const;
const hostOption = { host: { type: 'string' } } as const;
const dryRunOption = { 'dry-run': { type: 'boolean' } } as const;
const CONFIG_LINE = '  --config, -c FILE   the cluster config (or env BOXWIRE_CONFIG)';
const HOST_LINE = "  --host HOST         this machine's host as written in the config (default: guessed from its addresses)";
const DRY_RUN_LINE = '  --dry-run           print every command, run nothing';

function loadMongo(values: Values): { path: string; mongo: MongoConfig; plan: MongoPlan } {
  const path = requireConfigPath(values);
  const config = loadClusterConfig(path);
  if (!config.mongo) throw new OpsError(`${path} has no "mongo" section (see docs/config.md)`);
  return { path, mongo: config.mongo, plan: buildMongoPlan(config.mongo) };
}

const plan: SubCommand = {
  summary: 'show every process to start, the admin commands in order, and the stop order',
  usage: ['--config FILE [--json]', '', CONFIG_LINE, '  --json              one JSON document: { processes, commands, stopOrder } (passwords redacted)'].join('\n'),
  options: { ...configOption, json: { type: 'boolean' } },
  async run(values) {
    const { plan } = loadMongo(values);
    if (values.json) {
      console.log(JSON.stringify(redact(plan), null, 2));
      return 0;
    }
    console.log(formatPlan(plan));
    return 0;
  },
};

export function formatPlan(plan: MongoPlan): string {
  const safe = redact(plan);
  return [
    'Processes (start order):',
    ...safe.processes.map((p) => `  ${p.host}  ${p.argv.join(' ')}`),
    '',
    'Admin commands (boxwire ops mongo init):',
    ...safe.commands.map((c, i) => `  ${i + 1}. ${c.step} -> ${c.target}${c.localhostException ? ' over localhost' : ''}${c.auth === 'root' ? ' as root' : ''}, db ${c.db}: ${JSON.stringify(c.command)}`),
    '',
    'Stop order (boxwire ops mongo down):',
    ...safe.stopOrder.map((s, i) => `  ${i + 1}. ${s.step}${s.processes.length ? `: ${s.processes.join(', ')}` : ''}`),
  ].join('\n');
}

const up: SubCommand = {
  summary: "start this host's mongod and mongos processes (config servers, shards, routers)",
  usage: ['--config FILE [--host HOST] [--dry-run]', '', CONFIG_LINE, HOST_LINE, DRY_RUN_LINE, '', 'Binaries: MONGOD_BIN and MONGOS_BIN, or mongod/mongos on PATH.'].join('\n'),
  options: { ...configOption, ...hostOption, ...dryRunOption },
  async run(values) {
    const { mongo, plan } = loadMongo(values);
    await runUp(mongo, plan, { hosts: hostMatcher(values.host as string | undefined), dryRun: Boolean(values['dry-run']) });
    return 0;
  },
};

const init: SubCommand = {
  summary: 'initiate the replica sets, create the users, add the shards, shard the collections (idempotent)',
  usage: ['--config FILE [--host HOST] [--dry-run]', '', CONFIG_LINE, HOST_LINE, DRY_RUN_LINE,
    '', 'Rerun at any time: finished steps are detected and skipped. Run it on the first router\'s host.'].join('\n'),
  options: { ...configOption, ...hostOption, ...dryRunOption },
  async run(values) {
    const { path, mongo, plan } = loadMongo(values);
    await runInit(mongo, plan, { hosts: hostMatcher(values.host as string | undefined), dryRun: Boolean(values['dry-run']), configPath: path });
    return 0;
  },
};

const status: SubCommand = {
  summary: 'shards, databases, sharded collections, balancer state and replica set primaries',
  usage: ['--config FILE [--host HOST] [--json]', '', CONFIG_LINE, HOST_LINE, '  --json              print the status as JSON'].join('\n'),
  options: { ...configOption, ...hostOption, json: { type: 'boolean' } },
  async run(values) {
    const { mongo } = loadMongo(values);
    const report = await readStatus(mongo, { hosts: hostMatcher(values.host as string | undefined) });
    console.log(values.json ? JSON.stringify(report, null, 2) : formatStatus(report));
    return 0;
  },
};

const down: SubCommand = {
  summary: "stop this host's processes in order: balancer, mongos, shards (secondaries first), config servers",
  usage: ['--config FILE [--host HOST] [--phase PHASE] [--dry-run]', '', CONFIG_LINE, HOST_LINE,
    `  --phase PHASE       only one phase: ${DOWN_PHASES.join(', ')} (default all); on several hosts run each phase everywhere before the next`,
    DRY_RUN_LINE].join('\n'),
  options: { ...configOption, ...hostOption, ...dryRunOption, phase: { type: 'string' } },
  async run(values) {
    const { mongo, plan } = loadMongo(values);
    const phase = (values.phase ?? 'all') as DownPhase;
    if (!DOWN_PHASES.includes(phase)) throw new OpsError(`--phase must be one of ${DOWN_PHASES.join(', ')}, got '${phase}'`);
    await runDown(mongo, plan, { hosts: hostMatcher(values.host as string | undefined), phase, dryRun: Boolean(values['dry-run']) });
    return 0;
  },
};

const migrate: SubCommand = {
  summary: 'copy an existing database into the cluster (mongodump, then mongorestore --nsInclude DB.*)',
  usage: ['--config FILE --from URI [--dump-dir DIR] [--dry-run]', '', CONFIG_LINE,
    '  --from URI          the old database, e.g. mongodb://user:pwd@old-host:27017/?authSource=admin',
    '  --dump-dir DIR      where the dump goes (default ./dump)', DRY_RUN_LINE,
    '', 'Run it after init, so the collections are sharded before the documents arrive.'].join('\n'),
  options: { ...configOption, ...dryRunOption, from: { type: 'string' }, 'dump-dir': { type: 'string' } },
  async run(values) {
    const { mongo } = loadMongo(values);
    if (typeof values.from !== 'string') throw new OpsError('--from URI is required: the connection string of the old database');
    await runMigrate(mongo, { from: values.from, dumpDir: (values['dump-dir'] as string | undefined) ?? 'dump', dryRun: Boolean(values['dry-run']) });
    return 0;
  },
};

const keyfile: SubCommand = {
  summary: 'create the shared keyfile (1008 base64 characters, mode 0400; never printed) or --check one',
  usage: ['--config FILE [--out PATH] [--force] [--check] [--dry-run]', '', CONFIG_LINE,
    '  --out PATH          where to write it (default: mongo.keyFile)', '  --force             replace an existing keyfile',
    '  --check             only check an existing keyfile (length, characters, mode)', DRY_RUN_LINE,
    '', 'Copy the file to the same path on every host; compare copies by the printed fingerprint.'].join('\n'),
  options: { ...configOption, ...dryRunOption, out: { type: 'string', short: 'o' }, force: { type: 'boolean' }, check: { type: 'boolean' } },
  async run(values) {
    const { mongo } = loadMongo(values);
    const path = (values.out as string | undefined) ?? mongo.keyFile;
    if (values.check) {
      const problems = checkKeyfile(path);
      for (const problem of problems) console.error(problem);
      if (problems.length === 0) console.log(`${path}: ok, fingerprint ${keyfileFingerprint(path)}`);
      return problems.length === 0 ? 0 : 1;
    }
    if (values['dry-run']) {
      console.log(`would write a new keyfile to ${path} (1008 base64 characters, mode 0400)`);
      return 0;
    }
    const result = generateKeyfile(path, { force: Boolean(values.force) });
    console.log(`wrote ${result.path}: ${result.characters} base64 characters, mode 0400, fingerprint ${result.fingerprint}`);
    console.log('copy it to the same path on every MongoDB host, owned by the user that runs mongod');
    return 0;
  },
};

export const mongoGroup: CommandGroup = {
  path: 'boxwire ops mongo',
  summary: 'A MongoDB sharded cluster from the cluster config: replica-set shards, config servers, mongos.',
  commands: { plan, up, init, status, down, migrate, keyfile },
};
