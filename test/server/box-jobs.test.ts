// DISTRIBUTE_PROCESS from a box under `boxwire start` (the chaos run found that the master never
// loaded the job agent there, so a box's jobs never ran): two real servers on 127.0.0.2/.3 with
// the chaos box, which offers three jobs from every worker's onBoot; each job runs in exactly
// one process of the cluster.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { join } from 'node:path';
import { repoRoot } from '../helpers/process-harness.js';
import { ClusterServers, waitHttp, writeConfig } from '../helpers/roles-cluster.js';
import { freePort } from '../helpers/server-driver.js';

let cluster: ClusterServers;
const hosts = ['127.0.0.2', '127.0.0.3'];
let webPort = 0;

test.before(async () => {
  webPort = await freePort(hosts);
  const clusteringPort = await freePort(hosts);
  const { path } = writeConfig({
    clusteringPort, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', boxes: ['chaos'], defaultBox: 'chaos',
    servers: { a: { host: hosts[0], webPort, roles: ['api'] }, b: { host: hosts[1], webPort, roles: ['api'] } },
  });
  cluster = new ClusterServers(path, { BOXWIRE_BOXES: join(repoRoot, 'test/chaos/boxes'), BOXWIRE_WORKERS: '2' });
  cluster.start('a');
  cluster.start('b');
});
test.after(async () => {
  await cluster.stopAll();
});

interface Jobs { pid: number; server: string; running: Record<string, number> }

async function jobsOf(host: string): Promise<Jobs> {
  const response = await fetch(`http://${host}:${webPort}/__API/chaos/jobs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'null', signal: AbortSignal.timeout(5000) });
  return (await response.json()).result;
}

test("a box's DISTRIBUTE_PROCESS jobs run, each in exactly one process of the cluster", async () => {
  for (const host of hosts) await waitHttp(`http://${host}:${webPort}/__CHECK_ALIVE`, (status) => (status === 200 ? true : undefined), 60_000);
  // Each HTTP call reaches one of a server's two workers: ask until both workers of both servers answered.
  const byProcess = new Map<string, Jobs>();
  const deadline = Date.now() + 60_000;
  let placed: Record<string, string[]> = {};
  while (Date.now() < deadline) {
    for (const host of hosts) {
      const answer = await jobsOf(host);
      byProcess.set(`${answer.server}/${answer.pid}`, answer);
    }
    placed = {};
    for (const [where, answer] of byProcess) for (const tag of Object.keys(answer.running)) (placed[tag] ??= []).push(where);
    if (byProcess.size === 4 && Object.keys(placed).length === 3) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assert.equal(Object.keys(placed).sort(), ['job-a', 'job-b', 'job-c'], JSON.stringify(placed));
  for (const [tag, where] of Object.entries(placed)) assert.is(where.length, 1, `${tag} runs in ${where.join(', ')}`);
});

test.run();
