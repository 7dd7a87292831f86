/** `boxwire ops lb nginx|haproxy`: print (or write) a load balancer config. */
import { loadClusterConfig } from '../../src/config/index.js';
import { emitConfig, requireConfigPath, type CommandGroup, type SubCommand, type Values } from '../command.js';
import { OpsError } from '../errors.js';
import { generateHaproxy, haproxyPemPath, writeHaproxyPem } from './haproxy.js';
import { generateNginx } from './nginx.js';
import { checkTlsFiles, LB_CONFIG_KEYS, type LbOptions, type TlsFiles } from './upstreams.js';

const common = {
  config: { type: 'string', short: 'c' },
  sticky: { type: 'boolean' },
  listen: { type: 'string' },
  'tls-cert': { type: 'string' },
  'tls-key': { type: 'string' },
  'tls-listen': { type: 'string' },
  out: { type: 'string', short: 'o' },
  'dry-run': { type: 'boolean' },
} as const;

const commonUsage = [
  '  --config, -c FILE   the cluster config (or env BOXWIRE_CONFIG); only servers, maxUploadFileMB',
  '                      and publicUrl are read (no cluster key or MongoDB secrets needed)',
  '  --sticky            keep each client on one backend (by client address)',
  '  --tls-cert FILE     terminate TLS with this PEM certificate (chain); HTTP then redirects to HTTPS',
  '  --tls-key FILE      its PEM private key (with --tls-cert)',
  '  --tls-listen ADDR   HTTPS listen address (default 443)',
  '  --out, -o FILE      write the config there instead of printing it',
  '  --dry-run           with --out: print what would be written, write nothing',
];


function lbConfig(values: Values) {
  return loadClusterConfig(requireConfigPath(values), { only: LB_CONFIG_KEYS });
}

function tlsOf(values: Values): TlsFiles | undefined {
  const cert = values['tls-cert'] as string | undefined;
  const key = values['tls-key'] as string | undefined;
  if (!cert && !key) {
    if (values['tls-listen'] !== undefined) throw new OpsError('--tls-listen needs --tls-cert and --tls-key');
    return undefined;
  }
  if (!cert || !key) throw new OpsError('TLS needs both --tls-cert FILE and --tls-key FILE');
  const tls = { cert, key };
  checkTlsFiles(tls);
  return tls;
}

function commonOptions(values: Values): LbOptions {
  return {
    sticky: Boolean(values.sticky),
    listen: values.listen as string | undefined,
    tls: tlsOf(values),
    tlsListen: values['tls-listen'] as string | undefined,
  };
}

const nginx: SubCommand = {
  summary: 'nginx config: an upstream per role, WebSocket upgrade on the API paths, passive health checks',
  usage: ['--config FILE [options]', '', ...commonUsage,
    '  --listen ADDR       nginx `listen` value for HTTP (default 80)',
    '  --server-name NAME  nginx `server_name` (default the host of publicUrl, else _)',
    '  --standalone        a complete nginx.conf (paths relative to nginx -p PREFIX)',
    '  --foreground        with --standalone: daemon off;'].join('\n'),
  options: { ...common, 'server-name': { type: 'string' }, standalone: { type: 'boolean' }, foreground: { type: 'boolean' } },
  async run(values) {
    const config = lbConfig(values);
    return emitConfig(values, generateNginx(config, {
      ...commonOptions(values), serverName: values['server-name'] as string | undefined,
      standalone: Boolean(values.standalone), foreground: Boolean(values.foreground),
    }));
  },
};

const haproxy: SubCommand = {
  summary: 'HAProxy config: a backend per role, readiness checks (GET /__READY), balance source with --sticky',
  usage: ['--config FILE [options]', '', ...commonUsage,
    '  --listen ADDR       HTTP bind address (default *:80)',
    '  --maxconn N         global maxconn (default: from this machine\'s open-files limit, 2 per connection, at most 20000)',
    '',
    'HAProxy reads a certificate and its key from one PEM file. When --tls-key is neither the',
    '--tls-cert file nor <cert>.key, `--out` also writes <cert>.haproxy.pem (both, mode 0600).'].join('\n'),
  options: { ...common, maxconn: { type: 'string' } },
  async run(values) {
    const config = lbConfig(values);
    const maxconn = values.maxconn === undefined ? undefined : Number(values.maxconn);
    const options = { ...commonOptions(values), maxconn };
    const text = generateHaproxy(config, options);
    if (options.tls && haproxyPemPath(options.tls) !== options.tls.cert) {
      if (typeof values.out === 'string' && !values['dry-run']) console.error(`wrote ${await writeHaproxyPem(options.tls)} (certificate and key for HAProxy)`);
      else console.error(`HAProxy needs ${haproxyPemPath(options.tls)} (certificate then key); --out writes it`);
    }
    return emitConfig(values, text);
  },
};

export const lbGroup: CommandGroup = {
  path: 'boxwire ops lb',
  summary: 'Load balancer configs generated from the cluster config.',
  commands: { nginx, haproxy },
};
