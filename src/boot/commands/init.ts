/**
 * `boxwire init DIR`: a new runnable TypeScript app (see ../init/scaffold.ts). Run it with
 * `npx boxwire init my-app`.
 */
import { parseArgs } from 'node:util';
import { relative } from 'node:path';
import type { Command } from '../cli.js';
import { BoxwireError } from '../../core/errors.js';

const USAGE = `Usage: boxwire init DIR [--name NAME]

Creates a new boxwire app in DIR (a new or empty folder): package.json, cluster.json for one
server, a box written with defineBox (a method, a room, a store, a page), a test, a README.

Options:
  -n, --name NAME   the package name (default: the folder's name)
  -h, --help        show this help

Then: cd DIR && npm install && npm start`;

export const initCommand: Command = {
  summary: 'create a new app: boxwire init my-app',
  async run(argv) {
    let parsed: { values: { name?: string; help?: boolean }; positionals: string[] };
    try {
      parsed = parseArgs({ args: argv, strict: true, allowPositionals: true, options: { name: { type: 'string', short: 'n' }, help: { type: 'boolean', short: 'h' } } });
    } catch (error) {
      console.error(`boxwire init: ${(error as Error).message}\n\n${USAGE}`);
      return 1;
    }
    if (parsed.values.help) {
      console.log(USAGE);
      return 0;
    }
    if (parsed.positionals.length !== 1) {
      console.error(`boxwire init: name one folder for the new app\n\n${USAGE}`);
      return 1;
    }
    const { scaffoldApp } = await import('../init/scaffold.js');
    try {
      const result = scaffoldApp(parsed.positionals[0], { name: parsed.values.name });
      const rel = relative(process.cwd(), result.dir);
      const where = rel.startsWith('..') ? result.dir : rel || '.';
      console.log(`Created ${result.name} in ${result.dir}:`);
      for (const file of result.files) console.log(`  ${file}`);
      console.log(`\nNext:\n  cd ${where}\n  npm install\n  npm start`);
      return 0;
    } catch (error) {
      if (error instanceof BoxwireError) {
        console.error(error.message);
        return 1;
      }
      throw error;
    }
  },
};
