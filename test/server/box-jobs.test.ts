// DISTRIBUTE_PROCESS from a box under `boxwire start` (the chaos run found that the master never
// loaded the job agent there, so a box's jobs never ran): two real servers on 127.0.0.2/.3 with
// the chaos box, which offers three jobs from every worker's onBoot; each job runs in exactly
// one process of the cluster.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
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

/** One call on a new connection (node:cluster hands each connection to the next worker; fetch would reuse one). */
function jobsOf(host: string): Promise<Jobs> {
  return new Promise((resolve, reject) => {
    const req = httpRequest({ host, port: webPort, path: '/__API/chaos/jobs', method: 'POST', agent: false, timeout: 5000, headers: { 'content-type': 'application/json' } }, (res) => {
      let body = '';
      res.on('data', (chunk) => (body += chunk));
      res.on('end', () => {
        try {
          resolve(JSON.parse(body).result);
        } catch (error) {
          reject(error);
        }
      });
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
    req.end('null');
  });
}

/**
 * Which live process runs which job: asks each server until both workers of both servers answered
 * (an HTTP call reaches one of a server's two workers) and all three jobs are seen, or the deadline.
 */
async function placement(livePids?: (server: string) => number[]): Promise<Record<string, string[]>> {
  const byProcess = new Map<string, Jobs>();
  const deadline = Date.now() + 60_000;
  let placed: Record<string, string[]> = {};
  while (Date.now() < deadline) {
    for (const host of hosts) {
      const answer = await jobsOf(host).catch(() => undefined);
      if (answer && (!livePids || livePids(answer.server).includes(answer.pid))) byProcess.set(`${answer.server}/${answer.pid}`, answer);
    }
    placed = {};
    for (const [where, answer] of byProcess) for (const tag of Object.keys(answer.running)) (placed[tag] ??= []).push(where);
    if (byProcess.size === 4 && Object.keys(placed).length === 3) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  return placed;
}

function assertEachOnce(placed: Record<string, string[]>): void {
  assert.equal(Object.keys(placed).sort(), ['job-a', 'job-b', 'job-c'], JSON.stringify(placed));
  for (const [tag, where] of Object.entries(placed)) assert.is(where.length, 1, `${tag} runs in ${where.join(', ')}`);
}

/** A server master's worker processes (its children). */
function workerPids(masterPid: number): number[] {
  try {
    return readFileSync(`/proc/${masterPid}/task/${masterPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

test("a box's DISTRIBUTE_PROCESS jobs run, each in exactly one process of the cluster", async () => {
  for (const host of hosts) await waitHttp(`http://${host}:${webPort}/__CHECK_ALIVE`, (status) => (status === 200 ? true : undefined), 60_000);
  assertEachOnce(await placement());
});

test('after a rolling restart (SIGUSR2) of every server, each job runs again, once, in the new processes', async () => {
  const masters = Object.fromEntries(['a', 'b'].map((name) => [name, cluster.servers.get(name)!.child.pid!]));
  const before = Object.fromEntries(Object.entries(masters).map(([name, pid]) => [name, workerPids(pid)]));
  for (const pid of Object.values(masters)) process.kill(pid, 'SIGUSR2');
  // Both rolls are done once neither server keeps any of its old worker processes.
  const deadline = Date.now() + 90_000;
  while (Object.entries(masters).some(([name, pid]) => workerPids(pid).some((w) => before[name].includes(w)) || workerPids(pid).length < 2)) {
    assert.ok(Date.now() < deadline, 'the rolling restarts finished');
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  assertEachOnce(await placement((server) => workerPids(masters[server])));
});

test.run();
