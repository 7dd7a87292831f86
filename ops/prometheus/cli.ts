/** `boxwire ops prometheus`: print (or write) the Prometheus scrape config for the cluster. */
import { loadClusterConfig } from '../../src/config/index.js';
import { emitConfig, requireConfigPath, type SubCommand } from '../command.js';
import { generateScrapeConfig } from './scrape-config.js';

export const prometheusCommand: SubCommand = {
  summary: 'Prometheus scrape config: every server\'s GET /__METRICS, labelled with its name and roles',
  usage: ['--config FILE [options]', '',
    '  --config, -c FILE   the cluster config (or env BOXWIRE_CONFIG)',
    '  --job NAME          job_name (default boxwire)',
    '  --interval DUR      scrape_interval (default 15s)',
    '  --token-file FILE   send the token in FILE as a Bearer token (servers run with BOXWIRE_METRICS_TOKEN)',
    '  --scheme http|https https when a TLS proxy fronts each web port (default http)',
    '  --out, -o FILE      write the config there instead of printing it',
    '  --dry-run           with --out: print what would be written, write nothing'].join('\n'),
  options: {
    config: { type: 'string', short: 'c' },
    job: { type: 'string' },
    interval: { type: 'string' },
    'token-file': { type: 'string' },
    scheme: { type: 'string' },
    out: { type: 'string', short: 'o' },
    'dry-run': { type: 'boolean' },
  },
  async run(values) {
    const config = loadClusterConfig(requireConfigPath(values));
    return emitConfig(values, generateScrapeConfig(config, {
      job: values.job as string | undefined,
      interval: values.interval as string | undefined,
      tokenFile: values['token-file'] as string | undefined,
      scheme: values.scheme as 'http' | 'https' | undefined,
    }));
  },
};
