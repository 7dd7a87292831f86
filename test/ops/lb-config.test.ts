/**
 * The generated load balancer configs: their content (upstream per role, WebSocket headers on
 * the API paths, upload paths and size limit, health checks, stickiness), and that the real
 * tools accept them: `nginx -t` and `haproxy -c`.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { loadClusterConfig, parseClusterConfig } from '../../src/boot/config.js';
import { generateHaproxy } from '../../ops/lb/haproxy.js';
import { generateNginx } from '../../ops/lb/nginx.js';
import { OpsError } from '../../ops/errors.js';
import { fixtures, FIXTURE_ENV, runCli, tempDir } from './helpers.js';

const config = loadClusterConfig(join(fixtures, 'three-host.json'), { env: FIXTURE_ENV });

/** The nginx `location` block for a match, as text. */
function locationBlock(text: string, match: string): string {
  const start = text.indexOf(`location ${match} {`);
  assert.ok(start >= 0, `location ${match} exists`);
  return text.slice(start, text.indexOf('}', start));
}

function nginxTest(text: string): { status: number | null; output: string } {
  const prefix = tempDir('nginx-t');
  mkdirSync(join(prefix, 'logs'));
  mkdirSync(join(prefix, 'tmp'));
  writeFileSync(join(prefix, 'nginx.conf'), text);
  const result = spawnSync('nginx', ['-t', '-p', prefix, '-c', join(prefix, 'nginx.conf')], { encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

test('nginx: an upstream per role from the servers holding it', () => {
  const text = generateNginx(config);
  assert.match(text, /upstream boxwire_front_door \{\n    zone boxwire_front_door 64k;\n    server 10\.0\.0\.1:8080 max_fails=2 fail_timeout=10s;  # door\n    keepalive 32;\n\}/);
  assert.match(text, /upstream boxwire_api \{\n    zone boxwire_api 64k;\n    server 10\.0\.0\.2:8080 max_fails=2 fail_timeout=10s;  # api1\n    server 10\.0\.0\.3:8080 max_fails=2 fail_timeout=10s;  # api2\n/);
  assert.match(text, /upstream boxwire_upload \{[^}]*10\.0\.0\.2:8080[^}]*10\.0\.0\.3:8080/);
  assert.not.match(text, /ip_hash/);
  assert.match(generateNginx(config, { sticky: true }), /upstream boxwire_api \{\n    zone boxwire_api 64k;\n    ip_hash;/);
});

test('nginx: WebSocket upgrade on the API paths, uploads with the size limit, the rest to the front door', () => {
  const text = generateNginx(config);
  assert.match(text, /map \$http_upgrade \$connection_upgrade \{/);
  for (const path of ['/__API', '/__SOCKET']) {
    const block = locationBlock(text, path);
    assert.match(block, /proxy_pass http:\/\/boxwire_api;/);
    assert.match(block, /proxy_http_version 1\.1;/);
    assert.match(block, /proxy_set_header Upgrade \$http_upgrade;/);
    assert.match(block, /proxy_set_header Connection \$connection_upgrade;/);
  }
  for (const path of ['/__UPLOAD', '/__RF/']) {
    const block = locationBlock(text, path);
    assert.match(block, /proxy_pass http:\/\/boxwire_upload;/);
    assert.match(block, /client_max_body_size 250m;/, 'maxUploadFileMB from the config');
  }
  assert.match(locationBlock(text, '= /__CHECK_ALIVE'), /proxy_pass http:\/\/boxwire_front_door;/);
  assert.match(locationBlock(text, '/'), /proxy_pass http:\/\/boxwire_front_door;/);
  assert.match(text, /proxy_next_upstream error timeout http_502 http_503 http_504;/);
});

test('nginx -t accepts the standalone config and the conf.d snippet', () => {
  for (const sticky of [false, true]) {
    const standalone = nginxTest(generateNginx(config, { sticky, standalone: true, listen: '127.0.0.1:18480' }));
    assert.is(standalone.status, 0, standalone.output);
    assert.match(standalone.output, /test is successful/);
  }
  // The default output is an http{}-level snippet: check it the way it is used, included.
  const prefix = tempDir('nginx-inc');
  writeFileSync(join(prefix, 'boxwire.conf'), generateNginx(config));
  const wrapper = nginxTest(`pid nginx.pid;\nerror_log logs/error.log;\nevents {}\nhttp {\n  client_body_temp_path tmp/b; proxy_temp_path tmp/p; fastcgi_temp_path tmp/f; uwsgi_temp_path tmp/u; scgi_temp_path tmp/s;\n  access_log off;\n  include ${join(prefix, 'boxwire.conf')};\n}\n`);
  assert.is(wrapper.status, 0, wrapper.output);
});

test('nginx -t rejects a broken config (the check can fail)', () => {
  const broken = nginxTest(generateNginx(config, { standalone: true }).replace('proxy_pass http://boxwire_api;', 'proxy_pass http://boxwire_api'));
  assert.is.not(broken.status, 0);
});

test('haproxy: a backend per role, httpchk on /__CHECK_ALIVE, routing by path, upload limit', () => {
  const text = generateHaproxy(config);
  assert.match(text, /acl boxwire_api path_beg \/__API \/__SOCKET/);
  assert.match(text, /acl boxwire_upload path_beg \/__UPLOAD \/__RF\//);
  assert.match(text, /http-request deny deny_status 413 if boxwire_upload \{ req\.hdr_val\(content-length\) gt 262144000 \}/);
  assert.match(text, /use_backend boxwire_api if boxwire_api/);
  assert.match(text, /default_backend boxwire_front_door/);
  assert.match(text, /backend boxwire_api\n    balance roundrobin\n    option httpchk GET \/__CHECK_ALIVE\n    http-check expect status 200\n/);
  assert.match(text, /server api1 10\.0\.0\.2:8080 check\n    server api2 10\.0\.0\.3:8080 check/);
  assert.match(text, /timeout tunnel 1h/);
  assert.match(generateHaproxy(config, { sticky: true }), /backend boxwire_api\n    balance source\n    hash-type consistent/);
});

test('haproxy -c accepts the config (and rejects a broken one)', () => {
  const dir = tempDir('haproxy');
  for (const [name, text] of [['plain', generateHaproxy(config)], ['sticky', generateHaproxy(config, { sticky: true, listen: '127.0.0.1:18481' })]]) {
    const path = join(dir, `${name}.cfg`);
    writeFileSync(path, text);
    const result = spawnSync('haproxy', ['-c', '-f', path], { encoding: 'utf8' });
    assert.is(result.status, 0, `${name}: ${result.stdout}${result.stderr}`);
  }
  const broken = join(dir, 'broken.cfg');
  writeFileSync(broken, generateHaproxy(config).replace('balance roundrobin', 'balance nonsense'));
  assert.is.not(spawnSync('haproxy', ['-c', '-f', broken]).status, 0);
});

test('a role no server holds is an error naming it', () => {
  const only = parseClusterConfig({ clusteringPort: 9000, servers: { a: { host: '10.0.0.1', webPort: 80, roles: ['api'] } } });
  assert.throws(() => generateNginx(only), (error: unknown) => error instanceof OpsError && /no server holds the 'front-door' role/.test((error as Error).message));
});

test('CLI: ops lb nginx prints, --out writes, --dry-run does not; haproxy --sticky', async () => {
  const path = join(fixtures, 'three-host.json');
  const printed = await runCli(['ops', 'lb', 'nginx', '--config', path, '--sticky']);
  assert.is(printed.code, 0, printed.stderr);
  assert.match(printed.stdout, /ip_hash;/);
  const out = join(tempDir('lb-out'), 'boxwire.conf');
  const dry = await runCli(['ops', 'lb', 'nginx', '--config', path, '--out', out, '--dry-run']);
  assert.is(dry.code, 0);
  assert.not.ok(existsSync(out));
  const written = await runCli(['ops', 'lb', 'nginx', '--config', path, '--out', out]);
  assert.is(written.code, 0, written.stderr);
  assert.match(readFileSync(out, 'utf8'), /upstream boxwire_api/);
  const haproxy = await runCli(['ops', 'lb', 'haproxy', '--config', path, '--sticky']);
  assert.match(haproxy.stdout, /balance source/);
  const help = await runCli(['ops', 'lb', 'haproxy', '--help']);
  assert.is(help.code, 0);
  assert.match(help.stdout, /Usage: boxwire ops lb haproxy --config FILE/);
  const typo = await runCli(['ops', 'lb', 'nginx', '--config', path, '--stickyy']);
  assert.is(typo.code, 1);
  assert.match(typo.stderr, /Unknown option '--stickyy'/);
});

test.run();
