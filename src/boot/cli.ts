/**
 * The `boxwire` command. Each subcommand lives in its own module and is loaded on demand, so
 * `boxwire --help` stays instant and `ops` does not load the runtime.
 */
export interface Command {
  summary: string;
  run(argv: string[]): Promise<number> | number;
}

const commands: Record<string, () => Promise<Command>> = {
  start: async () => (await import('./commands/start.js')).startCommand,
  status: async () => (await import('./commands/status.js')).statusCommand,
  ops: async () => (await import('../../ops/cli.js')).opsCommand,
  init: async () => (await import('./commands/init.js')).initCommand,
};

const summaries: Record<string, string> = {
  start: 'start one server of a cluster: boxwire start --config cluster.json --server NAME',
  status: 'show the live topology of a running cluster: boxwire status --config cluster.json',
  ops: 'operations: MongoDB sharded cluster (ops mongo …) and load balancer configs (ops lb …)',
  init: 'create a new app in a folder: boxwire init my-app',
};

export function usage(): string {
  const lines = Object.entries(summaries).map(([name, summary]) => `  ${name.padEnd(8)} ${summary}`);
  return ['Usage: boxwire <command> [options]', '', 'Commands:', ...lines, '', 'Run `boxwire <command> --help` for the options of a command.'].join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(usage());
    return 0;
  }
  if (name === '--version' || name === '-v') {
    console.log((await import('../config/index.js')).packageInfo().version);
    return 0;
  }
  const load = commands[name];
  if (!load) {
    console.error(`boxwire: unknown command '${name}'\n\n${usage()}`);
    return 1;
  }
  const command = await load();
  return command.run(rest);
}

const code = await main(process.argv.slice(2));
if (code !== 0) process.exitCode = code;
