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
import { loadClusterConfig, parseClusterConfig } from '../../src/config/index.js';
import { generateHaproxy } from '../../ops/lb/haproxy.js';
import { generateNginx } from '../../ops/lb/nginx.js';
import { OpsError } from '../../ops/errors.js';
import { fixtures, FIXTURE_ENV, runCli, tempDir, writeConfig } from './helpers.js';

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

test('nginx: an upstream per role from the servers holding it, one per upload server for its files', () => {
  const text = generateNginx(config);
  assert.match(text, /upstream boxwire_front_door \{\n    zone boxwire_front_door 64k;\n    server 10\.0\.0\.1:8080 max_fails=2 fail_timeout=10s;  # door\n    keepalive 32;\n    keepalive_timeout 1s;\n\}/);
  assert.match(text, /upstream boxwire_api \{\n    zone boxwire_api 64k;\n    least_conn;\n    server 10\.0\.0\.2:8080 max_fails=2 fail_timeout=10s;  # api1\n    server 10\.0\.0\.3:8080 max_fails=2 fail_timeout=10s;  # api2\n/);
  assert.match(text, /upstream boxwire_upload \{[^}]*10\.0\.0\.2:8080[^}]*10\.0\.0\.3:8080/);
  assert.match(text, /upstream boxwire_file_api1 \{\n    zone boxwire_file_api1 64k;\n    server 10\.0\.0\.2:8080 [^\n]*\n    keepalive 32;\n    keepalive_timeout 1s;\n\}/);
  assert.not.match(text, /ip_hash/);
  assert.match(generateNginx(config, { sticky: true }), /upstream boxwire_api \{\n    zone boxwire_api 64k;\n    ip_hash;/);
});

test('nginx: WebSocket upgrade on the API paths, uploads with the size limit, downloads to the owner, the rest to the front door', () => {
  const text = generateNginx(config);
  assert.match(text, /map \$http_upgrade \$connection_upgrade \{/);
  for (const path of ['= /__API', '/__API/']) {
    const block = locationBlock(text, path);
    assert.match(block, /proxy_pass http:\/\/boxwire_api;/);
    assert.match(block, /proxy_http_version 1\.1;/);
    assert.match(block, /proxy_set_header Upgrade \$http_upgrade;/);
    assert.match(block, /proxy_set_header Connection \$connection_upgrade;/);
  }
  assert.not.match(text, /location \/__SOCKET/, 'no prefix that catches /__SOCKET_SERVER_HOST');
  const upload = locationBlock(text, '= /__UPLOAD');
  assert.match(upload, /proxy_pass http:\/\/boxwire_upload;/);
  assert.match(upload, /client_max_body_size 250m;/, 'maxUploadFileMB from the config');
  assert.match(locationBlock(text, '/__RF/'), /proxy_pass http:\/\/boxwire_upload;/);
  assert.match(locationBlock(text, '~ ^/__RF/[^/]+/api2\\.'), /proxy_pass http:\/\/boxwire_file_api2;/);
  assert.match(locationBlock(text, '/'), /proxy_pass http:\/\/boxwire_front_door;/);
  assert.match(text, /proxy_set_header X-Forwarded-Proto \$scheme;/);
  assert.match(text, /proxy_set_header X-Forwarded-Host \$http_host;/);
  assert.match(text, /proxy_next_upstream error timeout http_502 http_503 http_504;/);
  assert.match(text, /server_name _;/);
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

test('haproxy: a backend per role, readiness checks on /__READY, exact routing by path, upload limit', () => {
  const text = generateHaproxy(config, { fdLimit: 20_000 });
  assert.match(text, /acl boxwire_route_0 path \/__API\n    acl boxwire_route_1 path_beg \/__API\/\n    acl boxwire_route_2 path \/__UPLOAD\n    acl boxwire_route_3 path_beg \/__RF\//);
  assert.match(text, /acl boxwire_file_api1 path_reg \^\/__RF\/\[\^\/\]\+\/api1\\\./);
  assert.match(text, /http-request deny deny_status 413 if boxwire_route_2 \{ req\.hdr_val\(content-length\) gt 262144000 \}/);
  assert.match(text, /use_backend boxwire_file_api1 if boxwire_file_api1/);
  assert.match(text, /use_backend boxwire_api if boxwire_route_0/);
  assert.match(text, /default_backend boxwire_front_door/);
  assert.match(text, /backend boxwire_api\n    balance leastconn\n    option allbackups\n    option httpchk GET \/__READY\n    http-check expect status 200\n    default-server inter 1s fall 2 rise 2\n/);
  assert.match(text, /server api1 10\.0\.0\.2:8080 check\n    server api2 10\.0\.0\.3:8080 check\n    server api1\.alive 10\.0\.0\.2:8080 track boxwire_alive\/api1 backup\n/, 'while every server of a role drains, they still serve');
  assert.match(text, /backend boxwire_file_api1\n    server api1 10\.0\.0\.2:8080 track boxwire_alive\/api1\n/, 'a file owner is used while alive, even draining');
  assert.match(text, /backend boxwire_alive\n    option httpchk GET \/__CHECK_ALIVE\n[\s\S]*server door 10\.0\.0\.1:8080 check\n    server api1 10\.0\.0\.2:8080 check\n    server api2 10\.0\.0\.3:8080 check\n$/);
  assert.match(text, /timeout tunnel 1h/);
  assert.match(text, /http-request set-header X-Forwarded-Proto http\n/);
  assert.match(generateHaproxy(config, { sticky: true }), /backend boxwire_api\n    balance source\n    hash-type consistent/);
});

test('haproxy: maxconn follows the open-files limit (2 per connection), capped, or as given', () => {
  assert.match(generateHaproxy(config, { fdLimit: 20_000 }), /\n    maxconn 9950\n/);
  assert.match(generateHaproxy(config, { fdLimit: 1024 }), /\n    maxconn 462\n/);
  assert.match(generateHaproxy(config, { fdLimit: Number.POSITIVE_INFINITY }), /\n    maxconn 20000\n/);
  assert.match(generateHaproxy(config, { maxconn: 5000 }), /\n    maxconn 5000\n/);
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

test('no front door is an error naming it; a role nobody else holds just has no route', () => {
  const only = parseClusterConfig({ clusteringPort: 9000, servers: { a: { host: '10.0.0.1', webPort: 80, roles: ['api'] } } });
  assert.throws(() => generateNginx(only), (error: unknown) => error instanceof OpsError && /no server holds the 'front-door' role/.test((error as Error).message));
  const noUpload = parseClusterConfig({ clusteringPort: 9000, servers: { a: { host: '10.0.0.1', webPort: 80, roles: ['front-door', 'api'] } } });
  assert.not.match(generateNginx(noUpload), /__UPLOAD|__RF|boxwire_upload/);
  assert.not.match(generateHaproxy(noUpload), /__UPLOAD|__RF|boxwire_upload/);
  assert.match(generateHaproxy(noUpload), /use_backend boxwire_api if boxwire_route_1/);
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

test('CLI: the LB needs only servers, maxUploadFileMB and publicUrl: no cluster key or MongoDB secrets set', async () => {
  const path = join(fixtures, 'three-host.json');
  const env = { BOXWIRE_CLUSTER_KEY: '', MONGO_ROOT_USER: '', MONGO_ROOT_PWD: '', MONGO_APP_USER: '', MONGO_APP_PWD: '' };
  for (const kind of ['nginx', 'haproxy']) {
    const result = await runCli(['ops', 'lb', kind, '--config', path], env);
    assert.is(result.code, 0, `${kind}: ${result.stderr}`);
    assert.match(result.stdout, /boxwire_api/);
  }
  // The parts it reads are still validated.
  const bad = writeConfig({ clusterKey: 'env:UNSET_KEY', publicUrl: 'ftp://x', servers: { a: { host: '10.0.0.1', webPort: 'nope' } } });
  const refused = await runCli(['ops', 'lb', 'nginx', '--config', bad], env);
  assert.is(refused.code, 1);
  assert.match(refused.stderr, /publicUrl: must be the absolute http:\/\/ or https:\/\/ URL/);
  assert.match(refused.stderr, /servers\.a\.webPort: must be a TCP port/);
  assert.not.match(refused.stderr, /UNSET_KEY/);
});

test('publicUrl: server_name from its host; TLS: HTTPS with the files given, HTTP redirects to it; both pass nginx -t / haproxy -c', () => {
  const dir = tempDir('tls');
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=app.example.com'], { encoding: 'utf8' });
  assert.is(made.status, 0, made.stderr);
  const withUrl = { ...config, publicUrl: 'https://app.example.com' };
  const nginx = generateNginx(withUrl, { standalone: true, tls: { cert, key }, listen: '127.0.0.1:18480', tlsListen: '127.0.0.1:18443' });
  assert.match(nginx, /server \{\n        listen 127\.0\.0\.1:18480;\n        server_name app\.example\.com;\n        return 301 https:\/\/app\.example\.com\$request_uri;\n    \}/);
  assert.match(nginx, /listen 127\.0\.0\.1:18443 ssl;\n        server_name app\.example\.com;\n        ssl_certificate [^\n]*cert\.pem;\n        ssl_certificate_key [^\n]*key\.pem;/);
  const checked = nginxTest(nginx);
  assert.is(checked.status, 0, checked.output);
  const plainNginx = generateNginx({ ...config }, { tls: { cert, key }, tlsListen: '8443' });
  assert.match(plainNginx, /return 301 https:\/\/\$host:8443\$request_uri;/, 'without publicUrl: same host, the HTTPS port');
  const haproxy = generateHaproxy(withUrl, { tls: { cert, key }, listen: '127.0.0.1:18481', tlsListen: '127.0.0.1:18444' });
  assert.match(haproxy, /bind 127\.0\.0\.1:18444 ssl crt [^\n]*cert\.pem\.haproxy\.pem alpn http\/1\.1/);
  assert.match(haproxy, /http-request redirect prefix https:\/\/app\.example\.com code 301 unless \{ ssl_fc \}/);
  assert.match(haproxy, /http-request set-header X-Forwarded-Proto https if \{ ssl_fc \}/);
  const path = join(dir, 'tls.cfg');
  writeFileSync(path, haproxy);
  writeFileSync(`${cert}.haproxy.pem`, readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'));
  const result = spawnSync('haproxy', ['-c', '-f', path], { encoding: 'utf8' });
  assert.is(result.status, 0, `${result.stdout}${result.stderr}`);
});

test('CLI: TLS options are checked (both files, readable PEM); haproxy --out writes the combined PEM', async () => {
  const path = join(fixtures, 'three-host.json');
  const half = await runCli(['ops', 'lb', 'nginx', '--config', path, '--tls-cert', '/nonexistent.pem']);
  assert.is(half.code, 1);
  assert.match(half.stderr, /TLS needs both --tls-cert FILE and --tls-key FILE/);
  const missing = await runCli(['ops', 'lb', 'nginx', '--config', path, '--tls-cert', '/nonexistent.pem', '--tls-key', '/nonexistent.key']);
  assert.match(missing.stderr, /--tls-cert \/nonexistent\.pem: cannot read it/);
  const dir = tempDir('tls-cli');
  const cert = join(dir, 'site.crt');
  const key = join(dir, 'site.key');
  assert.is(spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost']).status, 0);
  const swapped = await runCli(['ops', 'lb', 'nginx', '--config', path, '--tls-cert', key, '--tls-key', cert]);
  assert.match(swapped.stderr, /not a PEM certificate/);
  const out = join(dir, 'haproxy.cfg');
  const written = await runCli(['ops', 'lb', 'haproxy', '--config', path, '--tls-cert', cert, '--tls-key', key, '--out', out]);
  assert.is(written.code, 0, written.stderr);
  assert.match(readFileSync(`${cert}.haproxy.pem`, 'utf8'), /BEGIN CERTIFICATE[\s\S]*BEGIN PRIVATE KEY/);
  const result = spawnSync('haproxy', ['-c', '-f', out], { encoding: 'utf8' });
  assert.is(result.status, 0, `${result.stdout}${result.stderr}`);
});

test.run();
