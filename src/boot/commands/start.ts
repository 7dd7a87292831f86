/**
 * `boxwire start --config cluster.json --server NAME`: starts one server of the cluster (its
 * master, workers and roles). Node's cluster re-runs this same command line in every worker.
 */
import type { Command } from '../cli.js';
import { parseCommandArgs } from './parse-command-args.js';
import { BoxwireError } from '../../core/errors.js';

const USAGE = `Usage: boxwire start --config FILE --server NAME [--boxes DIR]

Starts one server of a cluster: CPU clustering, the server mesh, the roles the config gives it
(front-door, api, upload) and the boxes.

Options:
  -c, --config FILE   the cluster config (JSON); required
  -s, --server NAME   which server of the config this is (default: env BOXWIRE_SERVER)
  -b, --boxes DIR     folder(s) holding the box folders, joined by ':' (default: env
                      BOXWIRE_BOXES, else ./boxes)
  -h, --help          show this help

Environment: BOXWIRE_SERVER, BOXWIRE_CLUSTER_KEY (for "clusterKey": "env:…"), BOXWIRE_WORKERS,
BOXWIRE_LOG=debug|info|warn|error.`;

/** The one line a server prints once every worker serves (demo:cluster waits for it). */
export function readyLine(serverName: string, url: string, roles: readonly string[]): string {
  return `boxwire: server ${serverName} is up at ${url} (roles: ${roles.join(', ')}; cluster view at ${url}__CLUSTER)`;
}

/** Matches a ready line; group 1 is the server name. */
export const READY_LINE = /^boxwire: server (\S+) is up at /m;

export const startCommand: Command = {
  summary: 'start one server of a cluster',
  async run(argv) {
    const parsed = parseCommandArgs<{ config?: string; server?: string; boxes?: string; help?: boolean }>('start', argv, {
      config: { type: 'string', short: 'c' },
      server: { type: 'string', short: 's' },
      boxes: { type: 'string', short: 'b' },
    }, USAGE);
    if ('exitCode' in parsed) return parsed.exitCode;
    const { values } = parsed;
    const serverName = values.server ?? process.env.BOXWIRE_SERVER;
    if (!serverName) {
      console.error('boxwire start: say which server this is: --server NAME or env BOXWIRE_SERVER');
      return 1;
    }
    try {
      const { loadClusterConfig } = await import('../../config/index.js');
      const { boot } = await import('../boot.js');
      const config = loadClusterConfig(values.config);
      const { dirname } = await import('node:path');
      await boot({
        config, serverName, boxesDir: values.boxes ?? process.env.BOXWIRE_BOXES, baseDir: dirname(values.config),
        onReady: ({ url, server }) => console.log(readyLine(server.name, url, server.roles)),
      });
      return 0;
    } catch (error) {
      if (error instanceof BoxwireError) {
        console.error(`boxwire start: ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};
