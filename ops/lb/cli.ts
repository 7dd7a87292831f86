/** `boxwire ops lb nginx|haproxy`: print (or write) a load balancer config. */
import { loadClusterConfig } from '../../src/boot/config.js';
import { emitConfig, requireConfigPath, type CommandGroup, type SubCommand } from '../command.js';
import { generateHaproxy } from './haproxy.js';
import { generateNginx } from './nginx.js';

const common = {
  config: { type: 'string', short: 'c' },
  sticky: { type: 'boolean' },
  listen: { type: 'string' },
  out: { type: 'string', short: 'o' },
  'dry-run': { type: 'boolean' },
} as const;

const commonUsage = [
  '  --config, -c FILE   the cluster config (or env BOXWIRE_CONFIG)',
  '  --sticky            keep each client on one backend (by client address)',
  '  --out, -o FILE      write the config there instead of printing it',
  '  --dry-run           with --out: print what would be written, write nothing',
];


const nginx: SubCommand = {
  summary: 'nginx config: an upstream per role, WebSocket upgrade on the API paths, passive health checks',
  usage: ['--config FILE [options]', '', ...commonUsage,
    '  --listen ADDR       nginx `listen` value (default 80)',
    '  --server-name NAME  nginx `server_name` (default _)',
    '  --standalone        a complete nginx.conf (paths relative to nginx -p PREFIX)',
    '  --foreground        with --standalone: daemon off;'].join('\n'),
  options: { ...common, 'server-name': { type: 'string' }, standalone: { type: 'boolean' }, foreground: { type: 'boolean' } },
  async run(values) {
    const config = loadClusterConfig(requireConfigPath(values));
    return emitConfig(values, generateNginx(config, {
      sticky: Boolean(values.sticky), listen: values.listen as string | undefined, serverName: values['server-name'] as string | undefined,
      standalone: Boolean(values.standalone), foreground: Boolean(values.foreground),
    }));
  },
};

const haproxy: SubCommand = {
  summary: 'HAProxy config: a backend per role, httpchk GET /__CHECK_ALIVE, balance source with --sticky',
  usage: ['--config FILE [options]', '', ...commonUsage, '  --listen ADDR       bind address (default *:80)'].join('\n'),
  options: common,
  async run(values) {
    const config = loadClusterConfig(requireConfigPath(values));
    return emitConfig(values, generateHaproxy(config, { sticky: Boolean(values.sticky), listen: values.listen as string | undefined }));
  },
};

export const lbGroup: CommandGroup = {
  path: 'boxwire ops lb',
  summary: 'Load balancer configs generated from the cluster config.',
  commands: { nginx, haproxy },
};
