/**
 * `boxwire ops mongo migrate --from URI`: moves an existing database into the new cluster with
 * mongodump/mongorestore. Run it after `init`, so the collections are already sharded (hashed
 * _id) when the documents arrive and spread over the shards as they are restored.
 */
import type { MongoConfig } from '../../src/config/index.js';
import { formatHost } from '../../src/core/host.js';
import { OpsError } from '../errors.js';
import { redactUrl } from './plan.js';
import { binaryFor, runToEnd, shellQuote } from './processes.js';

export interface MigrateOptions {
  from: string;
  dumpDir: string;
  dryRun?: boolean;
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
}

export function migrateCommands(mongo: MongoConfig, options: Pick<MigrateOptions, 'from' | 'dumpDir' | 'env'>): string[][] {
  const ns = `${mongo.database}.*`;
  const root = mongo.users.root;
  const router = mongo.routers[0];
  const target = `mongodb://${encodeURIComponent(root.user)}:${encodeURIComponent(root.pwd)}@${formatHost(router.host, router.port)}/?authSource=admin`;
  return [
    [binaryFor('mongodump', options.env), '--uri', options.from, '--nsInclude', ns, '--out', options.dumpDir],
    [binaryFor('mongorestore', options.env), '--uri', target, '--nsInclude', ns, options.dumpDir],
  ];
}

export async function runMigrate(mongo: MongoConfig, options: MigrateOptions): Promise<void> {
  const log = options.log ?? ((line: string) => console.log(line));
  if (!/^mongodb(\+srv)?:\/\//.test(options.from)) throw new OpsError(`--from must be a mongodb:// connection string of the old database, got '${options.from}'`);
  for (const argv of migrateCommands(mongo, options)) {
    const printable = argv.map((arg) => shellQuote(arg.startsWith('mongodb') ? redactUrl(arg) : arg)).join(' ');
    log(printable);
    if (options.dryRun) continue;
    const result = await runToEnd(argv, { inherit: true });
    if (result.code !== 0) throw new OpsError(`${argv[0]} failed (exit code ${result.code}); nothing after it ran`);
  }
}
