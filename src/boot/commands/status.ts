/**
 * `boxwire status --config cluster.json`: asks the running cluster (a front door first, then any
 * server) for its live view (`/__STATUS`) and prints it.
 */
import type { Command } from '../cli.js';
import { parseCommandArgs } from './parse-command-args.js';
import { BoxwireError } from '../../core/errors.js';
import type { ClusterStatus } from '../../roles/cluster/status.js';

const USAGE = `Usage: boxwire status --config FILE [--json] [--timeout MS]

Shows the live topology of a running cluster: servers, roles, live or down, load, clock skew,
workers, links and store sizes, as seen by the first server that answers (front doors first).

Options:
  -c, --config FILE   the cluster config (JSON); required
      --json          print the raw /__STATUS JSON
      --timeout MS    how long to wait for each server (default 3000)
  -h, --help          show this help`;

export const statusCommand: Command = {
  summary: 'show the live topology',
  async run(argv) {
    const parsed = parseCommandArgs<{ config?: string; json?: boolean; timeout?: string; help?: boolean }>('status', argv, {
      config: { type: 'string', short: 'c' },
      json: { type: 'boolean' },
      timeout: { type: 'string' },
    }, USAGE);
    if ('exitCode' in parsed) return parsed.exitCode;
    const { values } = parsed;
    const timeoutMs = Number(values.timeout ?? 3000);
    try {
      const { loadClusterConfig } = await import('../../config/index.js');
      const { formatHost } = await import('../../core/host.js');
      // Status needs only addresses: secrets named as "env:…" (cluster key, passwords) may be unset
      // in the operator's shell, so they read as a placeholder here.
      const env = new Proxy(process.env, { get: (target, name: string) => target[name] || '(unset)' });
      const config = loadClusterConfig(values.config, { env });
      const servers = Object.values(config.servers).sort((a, b) => Number(b.roles.includes('front-door')) - Number(a.roles.includes('front-door')));
      const tried: string[] = [];
      for (const server of servers) {
        const url = `http://${formatHost(server.host, server.webPort)}/__STATUS`;
        try {
          const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
          if (!response.ok) throw new Error(`HTTP ${response.status}`);
          const status = (await response.json()) as ClusterStatus;
          console.log(values.json ? JSON.stringify(status, null, 2) : formatStatus(status));
          return 0;
        } catch (error) {
          tried.push(`${server.name} (${url}): ${(error as Error).message}`);
        }
      }
      console.error(`boxwire status: no server of the cluster answered:\n${tried.map((t) => `  ${t}`).join('\n')}`);
      return 1;
    } catch (error) {
      if (error instanceof BoxwireError) {
        console.error(`boxwire status: ${error.message}`);
        return 1;
      }
      throw error;
    }
  },
};

export function formatStatus(status: ClusterStatus): string {
  const rows = [['SERVER', 'ADDRESS', 'ROLES', 'STATE', 'LOAD', 'SKEW', 'WORKERS', 'LINKS', 'STORES']];
  for (const s of status.servers) {
    const d = s.detail;
    rows.push([
      s.name + (s.self ? '*' : ''), `${s.host}:${s.webPort}`, s.roles.join(','), s.live ? 'live' : 'DOWN',
      s.load === null ? '-' : s.load.toFixed(2), s.clockOffsetMs === null ? '-' : `${s.clockOffsetMs}ms`,
      d ? `${d.workers.ready.length}/${d.workers.count}` : '-', d ? d.links.join(',') || '-' : '-',
      d ? Object.entries(d.stores).map(([n, c]) => `${n}=${c}`).join(',') || '-' : '-',
    ]);
  }
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  const lines = rows.map((r) => r.map((cell, i) => cell.padEnd(widths[i])).join('  ').trimEnd());
  return [`cluster as seen by ${status.thisServer} at ${status.at} (boxwire ${status.version}; * = answering server)`, ...lines].join('\n');
}
