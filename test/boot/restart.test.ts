// Restarting one server never loses or resets cluster data (issue 12). A 4-server `boxwire start`
// cluster (door, api1, api2, upload1) with the sample box: the counter is brought to 25, then each
// server in turn, twice, is killed with -9 and started again. The restarted server's onBoot runs
// only once its store caught up, and initialises with create (never overwrites): the counter keeps
// its value on every API server — including the restarted one, from its first answer — and the
// next increment of 5 adds exactly 5.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ClusterServers, waitClusterUp, waitHttp, writeConfig } from '../helpers/roles-cluster.js';
import { freePort } from '../helpers/server-driver.js';

const hosts = { door: '127.0.0.2', api1: '127.0.0.3', api2: '127.0.0.4', upload1: '127.0.0.5' };
const WEB = await freePort(Object.values(hosts));
const MESH = await freePort(Object.values(hosts));
const servers = {
  door: { host: hosts.door, webPort: WEB, roles: ['front-door'] },
  api1: { host: hosts.api1, webPort: WEB, roles: ['api'] },
  api2: { host: hosts.api2, webPort: WEB, roles: ['api'] },
  upload1: { host: hosts.upload1, webPort: WEB, roles: ['upload'], dataDir: 'upload1' },
};
const { path } = writeConfig({ clusteringPort: MESH, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', defaultBox: 'sample', boxes: ['sample'], servers });
const cluster = new ClusterServers(path);
const door = `http://${hosts.door}:${WEB}`;
const apiUrl = (name: 'api1' | 'api2') => `http://${hosts[name]}:${WEB}/__API/sample`;

async function callApi(name: 'api1' | 'api2', method: string, data?: unknown): Promise<number> {
  const response = await fetch(`${apiUrl(name)}/${method}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(data ?? {}) });
  const body = await response.json();
  assert.is(response.status, 200, `${name} ${method}: ${JSON.stringify(body)}`);
  return body.result;
}

/** Polls getCounter (POST) until it shows `expected`; returns the last value seen. */
async function untilCounter(name: 'api1' | 'api2', expected: number, timeoutMs: number): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await callApi(name, 'getCounter');
    if (value === expected || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

test.before(async () => {
  for (const name of Object.keys(servers)) cluster.start(name);
  await waitClusterUp(door, Object.values(servers), 4, 60_000);
});
test.after(() => cluster.stopAll());

test('kill -9 and restart of each server in turn, twice: the counter never changes, and the next increment adds exactly its amount', async () => {
  // Every server ran onBoot's create: one counter, at 0.
  assert.is(await callApi('api1', 'getCounter'), 0);
  for (let i = 0; i < 5; i++) await callApi(i % 2 ? 'api2' : 'api1', 'increment', { by: 5 });
  let expected = 25;
  for (const name of ['api1', 'api2'] as const) {
    // Writes reach the other server within about 100 ms; allow 2 s.
    assert.is(await untilCounter(name, expected, 2000), expected, name);
  }
  for (const round of [1, 2]) {
    for (const victim of ['api2', 'door', 'upload1', 'api1'] as const) {
      const process = cluster.servers.get(victim)!;
      process.kill('SIGKILL');
      await process.exited;
      const restarted = cluster.start(victim);
      await waitHttp(`http://${hosts[victim]}:${WEB}/__CHECK_ALIVE`, (status) => (status === 200 ? true : undefined), 60_000).catch((error) => {
        throw new Error(`${victim} did not come back: ${error.message}\nstderr: ${restarted.stderr.slice(-2000)}`);
      });
      // The restarted server serves only after its onBoot ran against caught-up data: its first
      // answer already has the value, and so does every other API server.
      for (const name of ['api1', 'api2'] as const) {
        assert.is(await callApi(name, 'getCounter'), expected, `round ${round}, after restarting ${victim}: ${name} still has ${expected}`);
      }
      const via = victim === 'api1' ? 'api1' : 'api2';
      expected += 5;
      assert.is(await callApi(via, 'increment', { by: 5 }), expected, `round ${round}, after restarting ${victim}: increment of 5 on ${via}`);
      // Replicated before the next kill (an acknowledged write lives on the server that took it
      // until it reached the others, within about 100 ms).
      for (const name of ['api1', 'api2'] as const) assert.is(await untilCounter(name, expected, 2000), expected, `${name} sees ${expected}`);
      await waitClusterUp(door, Object.values(servers), 4, 60_000);
    }
  }
  for (const name of ['api1', 'api2'] as const) assert.is(await untilCounter(name, expected, 2000), expected, name);
});

test.run();
