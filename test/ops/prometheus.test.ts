// `boxwire ops prometheus`: a scrape job with one target per server (each server's /__METRICS),
// checked as YAML when a YAML parser is at hand (python3 -c 'import yaml').
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseClusterConfig } from '../../src/config/index.js';
import { OpsError } from '../../ops/errors.js';
import { generateScrapeConfig } from '../../ops/prometheus/scrape-config.js';
import { fixtures, runCli, tempDir } from './helpers.js';

const config = parseClusterConfig({
  clusteringPort: 9000,
  servers: { door: { host: '10.0.0.1', webPort: 80, roles: ['front-door'] }, api6: { host: '::1', webPort: 8080, roles: ['api', 'upload'] } },
});

test('one target per server (IPv6 in brackets), labelled with its name and roles', () => {
  const yaml = generateScrapeConfig(config);
  assert.match(yaml, /^scrape_configs:\n  - job_name: "boxwire"\n    metrics_path: "\/__METRICS"\n    scheme: "http"\n    scrape_interval: 15s\n    static_configs:\n/m);
  assert.match(yaml, /      - targets: \["10\.0\.0\.1:80"\]\n        labels:\n          server: "door"\n          roles: "front-door"\n/);
  assert.match(yaml, /      - targets: \["\[::1\]:8080"\]\n        labels:\n          server: "api6"\n          roles: "api,upload"\n/);
  assert.not.match(yaml, /authorization/);
  const python = spawnSync('python3', ['-c', 'import sys, json, yaml; print(json.dumps(yaml.safe_load(sys.stdin)))'], { input: generateScrapeConfig(config, { tokenFile: '/etc/p/token', job: 'app', interval: '30s' }), encoding: 'utf8' });
  if (python.status !== 0) {
    console.log('SKIP YAML parse: python3 with PyYAML is not installed');
    return;
  }
  assert.equal(JSON.parse(python.stdout), {
    scrape_configs: [{
      job_name: 'app', metrics_path: '/__METRICS', scheme: 'http', scrape_interval: '30s',
      authorization: { type: 'Bearer', credentials_file: '/etc/p/token' },
      static_configs: [
        { targets: ['10.0.0.1:80'], labels: { server: 'door', roles: 'front-door' } },
        { targets: ['[::1]:8080'], labels: { server: 'api6', roles: 'api,upload' } },
      ],
    }],
  });
});

test('bad options are an OpsError naming the option', () => {
  const fails = (options: Parameters<typeof generateScrapeConfig>[1], pattern: RegExp) =>
    assert.throws(() => generateScrapeConfig(config, options), (error: unknown) => error instanceof OpsError && pattern.test((error as Error).message));
  fails({ interval: 'soon' }, /--interval must be a Prometheus duration/);
  fails({ job: 'my job' }, /--job must be/);
  fails({ scheme: 'ftp' as 'http' }, /--scheme must be http or https/);
});

test('CLI: prints, --out writes, --dry-run does not', async () => {
  const path = join(fixtures, 'three-host.json');
  const printed = await runCli(['ops', 'prometheus', '--config', path]);
  assert.is(printed.code, 0, printed.stderr);
  assert.is(printed.stdout.match(/- targets:/g)?.length, Object.keys(JSON.parse(readFileSync(path, 'utf8')).servers).length);
  const out = join(tempDir('prometheus-out'), 'boxwire.yml');
  const dry = await runCli(['ops', 'prometheus', '--config', path, '--out', out, '--dry-run']);
  assert.is(dry.code, 0);
  assert.not.ok(existsSync(out));
  const written = await runCli(['ops', 'prometheus', '--config', path, '--out', out]);
  assert.is(written.code, 0, written.stderr);
  assert.is(readFileSync(out, 'utf8'), printed.stdout);
  const help = await runCli(['ops', '--help']);
  assert.match(help.stdout, /\n  prometheus +Prometheus scrape config/);
});

test.run();
