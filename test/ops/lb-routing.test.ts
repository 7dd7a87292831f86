/**
 * The routing table, checked on the real thing: nginx and HAProxy run from the generated configs
 * in front of four stand-in servers (a front door, an API server, two upload servers) that each
 * answer every request with their own name. For every path a boxwire server answers, the test
 * asserts which server received it through each load balancer — in particular the discovery
 * paths reach the front door (a `/__SOCKET` prefix used to send them to the API servers: 404),
 * and a download reaches the upload server named in the file id.
 */
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { request } from 'node:http';
import { join } from 'node:path';
import { parseClusterConfig } from '../../src/config/index.js';
import { generateHaproxy } from '../../ops/lb/haproxy.js';
import { generateNginx } from '../../ops/lb/nginx.js';
import { roleForPath } from '../../ops/lb/routes.js';
import { API_PATH } from '../../src/roles/api/api-role.js';
import { DISCOVERY_PATHS } from '../../src/roles/cluster/discovery.js';
import { DOWNLOAD_PREFIX } from '../../src/roles/files/download.js';
import { READY_PATH } from '../../src/roles/cluster/readiness.js';
import { UPLOAD_PATH } from '../../src/roles/files/upload-role.js';
import { CLIENT_PATH } from '../../src/roles/http/web-server.js';
import { nginxUser, portFreeOnAll, startLb, type RunningLb } from '../helpers/load-balancers.js';
import { freePorts } from './helpers.js';

const SERVERS = { door: '127.0.0.31', api1: '127.0.0.32', up1: '127.0.0.33', up2: '127.0.0.34' };
const children: ChildProcess[] = [];
const lbs: Record<string, RunningLb> = {};
const ports: Record<string, number> = {};

/**
 * Every path the servers answer, with the server that must receive it (`upload` = either upload
 * server). Written out here, not derived from the generator's table, so the test can disagree.
 */
const EXPECTED: Array<[method: string, path: string, server: 'door' | 'api1' | 'up1' | 'up2' | 'upload']> = [
  ['GET', '/', 'door'],
  ['GET', '/index.html', 'door'],
  ['GET', '/app.js', 'door'],
  ['GET', '/sample/style.css', 'door'],
  ['GET', '/__WEB_SERVER_HOST', 'door'],
  ['GET', '/__WEB_SERVER_HOSTS', 'door'],
  ['GET', '/__SOCKET_SERVER_HOST', 'door'],
  ['GET', '/__SOCKET_SERVER_HOST?callback=cb', 'door'],
  ['GET', '/__UPLOAD_SERVER_HOST', 'door'],
  ['GET', '/__CHECK_ALIVE', 'door'],
  ['GET', '/__READY', 'door'],
  ['GET', '/__VERSION', 'door'],
  ['GET', '/__STATUS', 'door'],
  ['GET', '/__CLUSTER', 'door'],
  ['GET', '/__boxwire/client.js', 'door'],
  ['GET', '/__API', 'api1'],
  ['GET', '/__API/', 'api1'],
  ['POST', '/__API/sample/increment', 'api1'],
  ['POST', '/__API/sample/echo?x=1', 'api1'],
  ['POST', '/__UPLOAD?box=sample', 'upload'],
  ['GET', '/__RF/sample/up1.AbCdEfGh12345678', 'up1'],
  ['GET', '/__RF/sample/up2.AbCdEfGh12345678/report.pdf', 'up2'],
  ['GET', '/__RF/sample/up2.AbCdEfGh12345678?download=1', 'up2'],
  ['GET', '/__RF/sample/not-an-id', 'upload'],
  // Look-alikes of routed prefixes are not caught by them.
  ['GET', '/__APIX', 'door'],
  ['GET', '/__UPLOADS', 'door'],
];

function ask(port: number, method: string, path: string): Promise<{ status: number; server: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, method, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (c) => (body += c));
      res.on('end', () => {
        const server = res.headers['x-server'];
        resolve({ status: res.statusCode ?? 0, server: typeof server === 'string' ? server : `(not a stand-in answer: ${body.slice(0, 80)})` });
      });
    });
    req.on('error', reject);
    req.end(method === 'POST' ? '{}' : undefined);
  });
}

test.before(async () => {
  const webPort = await portFreeOnAll(Object.values(SERVERS));
  [ports.nginx, ports.haproxy] = await freePorts(2);
  for (const [name, host] of Object.entries(SERVERS)) {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'fixtures', 'api-backend.ts'), host, String(webPort), name], { stdio: ['ignore', 'pipe', 'inherit'] });
    children.push(child);
    await new Promise<void>((resolve, reject) => {
      child.once('exit', (code) => reject(new Error(`stand-in ${name} exited (${code})`)));
      child.stdout!.on('data', (chunk: Buffer) => { if (chunk.toString().includes('ready')) resolve(); });
    });
  }
  const config = parseClusterConfig({
    clusteringPort: 9999,
    servers: {
      door: { host: SERVERS.door, webPort, roles: ['front-door'] },
      api1: { host: SERVERS.api1, webPort, roles: ['api'] },
      up1: { host: SERVERS.up1, webPort, roles: ['upload'] },
      up2: { host: SERVERS.up2, webPort, roles: ['upload'] },
    },
  });
  lbs.nginx = await startLb('nginx', generateNginx(config, { standalone: true, foreground: true, user: nginxUser(), listen: `127.0.0.1:${ports.nginx}` }), { host: '127.0.0.1', port: ports.nginx });
  lbs.haproxy = await startLb('haproxy', generateHaproxy(config, { listen: `127.0.0.1:${ports.haproxy}` }), { host: '127.0.0.1', port: ports.haproxy });
});

test.after(async () => {
  for (const lb of Object.values(lbs)) await lb.stop();
  for (const child of children) {
    if (child.exitCode === null) {
      child.kill('SIGTERM');
      await once(child, 'exit');
    }
  }
});

test('the expected table covers every path the servers define', () => {
  const paths = new Set(EXPECTED.map(([, path]) => path.split('?')[0]));
  for (const path of [API_PATH, UPLOAD_PATH, CLIENT_PATH, READY_PATH, ...DISCOVERY_PATHS]) assert.ok(paths.has(path), `${path} is in the table`);
  assert.ok([...paths].some((p) => p.startsWith(DOWNLOAD_PREFIX)), 'downloads are in the table');
});

test('the generator\'s table agrees (owner routing aside)', () => {
  const roleOf = { door: 'front-door', api1: 'api', up1: 'upload', up2: 'upload', upload: 'upload' } as const;
  for (const [, path, server] of EXPECTED) assert.is(roleForPath(path.split('?')[0]), roleOf[server], path);
});

for (const kind of ['nginx', 'haproxy'] as const) {
  test(`${kind} routes every path to the server that answers it`, async () => {
    const wrong: string[] = [];
    for (const [method, path, expected] of EXPECTED) {
      const { status, server } = await ask(ports[kind], method, path);
      const ok = status === 200 && (expected === 'upload' ? server === 'up1' || server === 'up2' : server === expected);
      if (!ok) wrong.push(`${method} ${path}: ${status} from ${server}, expected ${expected}`);
    }
    assert.equal(wrong, [], `${kind} misroutes:\n${wrong.join('\n')}\n${lbs[kind].output().slice(-2000)}`);
  });
}

test.run();
