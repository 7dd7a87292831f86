/**
 * A Jepsen-style run against real boxwire servers: each server in its own network namespace, a
 * workload of acknowledged operations over the HTTP API, a nemesis driven by a seed, and a checker
 * that says per property what held. See docs/chaos-and-fuzz.md.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { ChaosNetwork } from './network.js';
import { runNames, sweepLeftovers } from './leftovers.js';
import { RoomClients } from './room-clients.js';
import { JobWatch, type JobsAnswer } from './job-watch.js';
import { download, upload, type Uploaded } from './uploads.js';

const root = join(import.meta.dirname, '..', '..');
const WEB_PORT = 8080;
const MESH_PORT = 9000;
const RELAY_TIMEOUT_MS = 2000;
const MAX_RSS_MB = 600;

export interface ChaosOptions {
  servers: number; seed: number; seconds: number; log?: (line: string) => void;
  /** How long the checker waits for the replicas to agree after the heal (default 60 s). */
  settleSeconds?: number;
}
export interface PropertyResult { name: string; held: boolean; detail: string }
export interface ChaosResult {
  seed: number; properties: PropertyResult[]; faults: Record<string, number>; operations: Record<string, number>; history: string[]; ok: boolean;
  /** On failure: the faults, and every operation on the (up to 3) broken ids with the fewest operations, in time order. */
  minimalHistory: string[];
}

/** mulberry32: small, seedable, good enough to pick faults. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export type Fault =
  | { at: number; kind: 'partition'; name: string; groups: [number[], number[]]; forMs: number }
  | { at: number; kind: 'kill'; server: number; downMs: number; skewMs: number }
  | { at: number; kind: 'pause'; server: number; forMs: number }
  | { at: number; kind: 'kill-worker'; server: number }
  | { at: number; kind: 'rolling-restart'; server: number };

/** The whole fault schedule, from the seed alone: `--seed` reproduces it. */
export function schedule(seed: number, servers: number, seconds: number): Fault[] {
  const random = seededRandom(seed);
  const pick = (n: number) => Math.floor(random() * n);
  const faults: Fault[] = [];
  const all = Array.from({ length: servers }, (_, i) => i);
  // Faults start after a quiet start and stop a while before the end, leaving time to settle.
  for (let at = 4000; at < seconds * 1000 - 8000; at += 3000 + pick(5000)) {
    const kind = pick(5);
    const server = pick(servers);
    if (kind === 0) {
      const shuffled = [...all].sort(() => random() - 0.5);
      const shape = pick(3);
      const split = shape === 0 ? Math.floor(servers / 2) : 1;
      const groups: [number[], number[]] = [shuffled.slice(0, split), shuffled.slice(split)];
      const name = shape === 0 ? 'halves' : shape === 1 ? 'one-vs-rest' : 'bridge';
      if (name === 'bridge' && servers >= 3) {
        // A bridge: two sides that cannot see each other but both see one server in the middle.
        const [middle, ...others] = shuffled;
        const half = Math.ceil(others.length / 2);
        faults.push({ at, kind: 'partition', name, groups: [others.slice(0, half), others.slice(half)], forMs: 3000 + pick(5000) });
        void middle;
      } else faults.push({ at, kind: 'partition', name, groups, forMs: 3000 + pick(5000) });
    } else if (kind === 1) faults.push({ at, kind: 'kill', server, downMs: 500 + pick(3000), skewMs: pick(3) === 0 ? pick(2001) - 1000 : 0 });
    else if (kind === 2) faults.push({ at, kind: 'pause', server, forMs: 6000 + pick(3000) }); // longer than the 5 s failure detector
    else if (kind === 3) faults.push({ at, kind: 'rolling-restart', server });
    else faults.push({ at, kind: 'kill-worker', server });
  }
  return faults;
}

interface Server { index: number; name: string; child?: ChildProcess; up: boolean; paused: boolean }

export async function runChaos(options: ChaosOptions): Promise<ChaosResult> {
  const log = options.log ?? ((line: string) => console.log(line));
  const started = Date.now();
  const history: string[] = [];
  const stamp = () => ((Date.now() - started) / 1000).toFixed(1).padStart(6);
  /** Per id, what the workload did to it (bounded): the minimal history of a broken id. */
  const opLog = new Map<string, string[]>();
  const logOp = (id: string, text: string, sentAt: string) => {
    const lines = opLog.get(id) ?? opLog.set(id, []).get(id)!;
    if (lines.length < 300) lines.push(`${sentAt} s  ${id}: ${text} (answered at ${stamp().trim()} s)`);
  };
  const note = (line: string) => {
    const stamped = `${((Date.now() - started) / 1000).toFixed(1).padStart(6)} s  ${line}`;
    history.push(stamped);
    log(stamped);
  };
  // A SIGKILLed run left its namespaces (servers still running inside), links and directory:
  // remove those of runs whose process is gone, never those of a run still going.
  const swept = sweepLeftovers();
  if (swept.namespaces.length + swept.links.length + swept.dirs.length > 0) {
    note(`removed leftovers of dead runs: ${swept.namespaces.length} namespaces, ${swept.links.length} links, ${swept.dirs.length} directories, ${swept.processes.length} processes`);
  }
  const { tag, dirPrefix } = runNames(process.pid, Math.floor(Math.random() * 36 * 36).toString(36).padStart(2, '0'));
  const net = new ChaosNetwork(tag, options.servers, `10.${200 + (process.pid % 50)}.${Math.floor(Math.random() * 250)}`);
  const servers: Server[] = Array.from({ length: options.servers }, (_, index) => ({ index, name: `s${index + 1}`, up: false, paused: false }));
  const dir = mkdtempSync(dirPrefix);
  const configPath = join(dir, 'cluster.json');
  writeFileSync(configPath, JSON.stringify({
    clusteringPort: MESH_PORT, clusterKey: 'env:BOXWIRE_CLUSTER_KEY', boxes: ['chaos'], defaultBox: 'chaos',
    servers: Object.fromEntries(servers.map((s) => [s.name, { host: net.addresses[s.index], webPort: WEB_PORT, roles: ['front-door', 'api', 'upload'], dataDir: join(dir, 'data', s.name) }])),
  }));
  const faults: Record<string, number> = {};
  const operations: Record<string, number> = {};
  const count = (table: Record<string, number>, key: string) => (table[key] = (table[key] ?? 0) + 1);

  const start = (server: Server, skewMs = 0) => {
    const child = spawn('ip', ['netns', 'exec', net.namespaces[server.index], process.execPath, '--import', 'tsx', 'src/boot/cli.ts', 'start', '--config', configPath, '--server', server.name], {
      cwd: root, detached: true, stdio: ['ignore', 'ignore', 'pipe'],
      env: { ...process.env, BOXWIRE_CLUSTER_KEY: 'chaos-run-cluster-key-0123456789abcdef', BOXWIRE_WORKERS: '1', BOXWIRE_BOXES: join(root, 'test/chaos/boxes'), BOXWIRE_CLOCK_SKEW_MS: String(skewMs), BOXWIRE_LOG_LEVEL: 'error',
        BOXWIRE_API_CALLS_PER_SECOND: '100000', BOXWIRE_API_BURST: '100000' },
    });
    let stderr = '';
    child.stderr!.on('data', (chunk) => (stderr = (stderr + chunk).slice(-4000)));
    child.on('exit', (code, signal) => {
      if (server.child === child && code !== null && code !== 0) note(`${server.name} exited ${code}: ${stderr.split('\n').slice(-5).join(' | ')}`);
    });
    server.child = child;
    server.up = true;
    server.paused = false;
  };
  const signalGroup = (server: Server, signal: NodeJS.Signals) => {
    try {
      process.kill(-server.child!.pid!, signal);
    } catch {
      // Already gone.
    }
  };
  const kill = (server: Server) => {
    if (!server.child) return;
    if (server.paused) signalGroup(server, 'SIGCONT');
    signalGroup(server, 'SIGKILL');
    server.up = false;
    server.paused = false;
  };

  /** Background activity of the run (room clients, the job poller), stopped however the run ends. */
  const background: Array<() => void> = [];
  const cleanup = () => {
    for (const stop of background.splice(0)) stop();
    for (const s of servers) kill(s);
    net.destroy();
    rmSync(dir, { recursive: true, force: true });
  };
  const onSignal = () => {
    cleanup();
    process.exit(130);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  process.once('exit', cleanup);

  try {
    net.create();
    note(`network: bridge ${net.bridge}, namespaces ${net.namespaces.join(', ')}`);
    for (const s of servers) start(s);
    await Promise.all(servers.map((s) => waitAlive(net.addresses[s.index], 60_000)));
    note(`${options.servers} servers up; seed ${options.seed}; ${options.seconds} s`);

    // ---- workload ----
    const acked = new Map<string, number>(); // counter id -> acknowledged sum
    const maybe = new Map<string, number>(); // counter id -> sum of increments with unknown outcome
    const addsAcked = new Map<string, Set<string>>();
    const addsTried = new Map<string, Set<string>>();
    const createsAcked = new Set<string>();
    const relays: Array<{ from: string; outcome: string; message?: string; ms: number; pausedOrKilled: boolean }> = [];
    // When each server was paused or killed: a request measured there meanwhile is exempt from the time bound.
    const stalls = new Map<string, Array<[number, number]>>();
    const stallFrom = (name: string) => (stalls.get(name) ?? stalls.set(name, []).get(name)!).push([Date.now(), Infinity]);
    const stallTo = (name: string) => {
      const last = stalls.get(name)?.at(-1);
      if (last && last[1] === Infinity) last[1] = Date.now();
    };
    const stalledDuring = (name: string, from: number, to: number) => (stalls.get(name) ?? []).some(([a, b]) => a <= to && b >= from);
    const random = seededRandom(options.seed ^ 0x5eed);
    const uploads: Uploaded[] = [];
    const uploadChecks: Record<string, number> = {};
    const wrongBytes: string[] = [];
    const roomClients = new RoomClients(servers.map((s) => ({ name: s.name, address: net.addresses[s.index], port: WEB_PORT })));
    roomClients.start();
    background.push(() => roomClients.stop());
    const jobs = new JobWatch();
    const pollJobs = async () => {
      const live = servers.filter((s) => s.up && !s.paused);
      const answers = await Promise.all(live.map(async (s) => (await call(net.addresses[s.index], 'jobs', null, 2000)).result as JobsAnswer | undefined));
      jobs.observe(answers.filter((a): a is JobsAnswer => a !== undefined));
      return answers;
    };
    let polling = true;
    background.push(() => (polling = false));
    const jobPoller = (async () => {
      while (polling) {
        await pollJobs();
        await delay(1000);
      }
    })();
    const hot = ['h1', 'h2', 'h3'];
    const cold = Array.from({ length: 200 }, (_, i) => `c${i}`);
    const pickId = () => (random() < 0.7 ? hot[Math.floor(random() * hot.length)] : cold[Math.floor(random() * cold.length)]);
    let stopWorkload = false;
    let serial = 0;
    const worker = async () => {
      while (!stopWorkload) {
        const target = servers[Math.floor(random() * servers.length)];
        if (!target.up || target.paused) {
          await delay(20);
          continue;
        }
        const address = net.addresses[target.index];
        const roll = random();
        const id = pickId();
        if (roll < 0.3) {
          const by = 1 + Math.floor(random() * 5);
          count(operations, 'inc');
          const sentAt = stamp();
          const answer = await call(address, 'inc', { id, by });
          logOp(id, `$inc +${by} on ${target.name}: ${answer.ok ? `acknowledged, value ${answer.result}` : 'unknown outcome'}`, sentAt);
          if (answer.ok) acked.set(id, (acked.get(id) ?? 0) + by);
          else maybe.set(id, (maybe.get(id) ?? 0) + by);
        } else if (roll < 0.52) {
          const item = `i${++serial}`;
          count(operations, 'addToSet');
          (addsTried.get(id) ?? addsTried.set(id, new Set()).get(id)!).add(item);
          const sentAt = stamp();
          const answer = await call(address, 'add', { id, item });
          logOp(id, `$addToSet ${item} on ${target.name}: ${answer.ok ? 'acknowledged' : 'unknown outcome'}`, sentAt);
          if (answer.ok) (addsAcked.get(id) ?? addsAcked.set(id, new Set()).get(id)!).add(item);
        } else if (roll < 0.6) {
          const createId = `k${++serial}`;
          count(operations, 'create');
          const sentAt = stamp();
          const answer = await call(address, 'create', { id: createId, data: { by: target.name } });
          logOp(createId, `create on ${target.name}: ${answer.ok ? 'acknowledged' : 'unknown outcome'}`, sentAt);
          if (answer.ok) createsAcked.add(createId);
        } else if (roll < 0.68) {
          count(operations, 'save');
          await call(address, 'save', { id, data: { n: serial++ } });
        } else if (roll < 0.72) {
          count(operations, 'remove');
          await call(address, 'remove', { id });
        } else if (roll < 0.78) {
          count(operations, 'broadcast + messages');
          await call(address, 'broadcast', null);
        } else if (roll < 0.84) {
          count(operations, 'room push');
          if ((await call(address, 'push', null)).ok) count(operations, 'room push acknowledged');
        } else if (roll < 0.88) {
          count(operations, 'upload');
          const file = await upload(address, WEB_PORT, 1 + Math.floor(random() * 64 * 1024), random);
          if (file) {
            uploads.push(file);
            // At once, through another server (a redirect to the owner): the bytes must match.
            const via = servers[Math.floor(random() * servers.length)];
            const owner = servers.find((s) => s.name === file.owner);
            if (owner?.up && !owner.paused && via.up && !via.paused) {
              const got = await download(net.addresses[via.index], WEB_PORT, file.id);
              count(uploadChecks, String(got.status));
              if (got.status === 200 && got.sha256 !== file.sha256) wrongBytes.push(`${file.id} (via ${via.name}, right after its upload)`);
            }
          }
        } else {
          const other = servers[Math.floor(random() * servers.length)];
          if (other === target) continue;
          count(operations, 'request');
          const sentAt = Date.now();
          const answer = await call(address, 'relay', { server: other.name, timeoutMs: RELAY_TIMEOUT_MS, token: `t${++serial}` });
          if (answer.ok) relays.push({ from: target.name, ...(answer.result as { outcome: string; message?: string; ms: number }), pausedOrKilled: stalledDuring(target.name, sentAt, Date.now()) });
        }
      }
    };
    const workers = Array.from({ length: 6 }, worker);
    // RSS of every server's processes (master and worker), sampled each second.
    let maxRssMB = 0;
    const rssTimer = setInterval(() => {
      for (const s of servers) if (s.up && s.child?.pid) maxRssMB = Math.max(maxRssMB, groupRssMB(s.child.pid));
    }, 1000);

    // ---- nemesis ----
    const plan = schedule(options.seed, options.servers, options.seconds);
    const pending: Array<Promise<void>> = [];
    for (const fault of plan) {
      const wait = started + 3000 + fault.at - Date.now();
      if (wait > 0) await delay(wait);
      // At most one server down or paused at a time, so a majority always holds the data.
      const down = servers.filter((s) => !s.up || s.paused).length;
      if (fault.kind === 'partition') {
        count(faults, `partition (${fault.name})`);
        const names = fault.groups.map((g) => g.map((i) => servers[i].name).join('+'));
        note(`partition ${fault.name}: ${names.join(' | ')} for ${fault.forMs} ms`);
        const repair = net.cut(fault.groups[0], fault.groups[1]);
        const faultKey = `partition@${fault.at}`;
        jobs.linksDown(faultKey);
        pending.push(delay(fault.forMs).then(() => {
          repair();
          jobs.linksUp(faultKey);
          note(`partition ${names.join(' | ')} healed`);
        }));
      } else if (fault.kind === 'kill-worker') {
        const s = servers[fault.server];
        const workerPids = s.up && !s.paused && s.child?.pid ? childPids(s.child.pid) : [];
        if (workerPids.length === 0) {
          note(`skip kill -9 of ${s.name}'s worker: the server is down or paused`);
          continue;
        }
        count(faults, 'kill -9 of a worker');
        note(`kill -9 ${s.name}'s worker (pid ${workerPids.join(', ')}); its master re-forks it`);
        for (const pid of workerPids) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // Already gone.
          }
        }
      } else if (down > 0) {
        note(`skip ${fault.kind} of ${servers[fault.server].name}: a server is already down`);
      } else if (fault.kind === 'kill') {
        const s = servers[fault.server];
        count(faults, fault.skewMs ? 'kill -9 + restart with clock skew' : 'kill -9 + restart');
        note(`kill -9 ${s.name}; restart in ${fault.downMs} ms${fault.skewMs ? ` with BOXWIRE_CLOCK_SKEW_MS=${fault.skewMs}` : ''}`);
        stallFrom(s.name);
        jobs.linksDown(`kill@${fault.at}`);
        kill(s);
        pending.push(delay(fault.downMs).then(async () => {
          start(s, fault.skewMs);
          await waitAlive(net.addresses[s.index], 60_000);
          jobs.linksUp(`kill@${fault.at}`);
          stallTo(s.name);
          note(`${s.name} back`);
        }));
      } else if (fault.kind === 'pause') {
        const s = servers[fault.server];
        count(faults, 'SIGSTOP/SIGCONT');
        note(`SIGSTOP ${s.name} for ${fault.forMs} ms`);
        stallFrom(s.name);
        signalGroup(s, 'SIGSTOP');
        s.paused = true;
        jobs.linksDown(`pause@${fault.at}`);
        pending.push(delay(fault.forMs).then(() => {
          if (!s.paused) return;
          signalGroup(s, 'SIGCONT');
          s.paused = false;
          jobs.linksUp(`pause@${fault.at}`);
          stallTo(s.name);
          note(`SIGCONT ${s.name}`);
        }));
      } else {
        const s = servers[fault.server];
        count(faults, 'rolling restart (SIGUSR2)');
        note(`rolling restart of ${s.name}`);
        process.kill(s.child!.pid!, 'SIGUSR2');
      }
    }
    const endAt = started + 3000 + options.seconds * 1000;
    if (endAt > Date.now()) await delay(endAt - Date.now());
    await Promise.all(pending);
    stopWorkload = true;
    await Promise.all(workers);
    clearInterval(rssTimer);
    jobs.linksDown('final heal');
    net.heal();
    for (const s of servers) if (!s.up) start(s);
    await Promise.all(servers.map((s) => waitAlive(net.addresses[s.index], 60_000)));
    note('healed; waiting for the replicas to converge');
    jobs.linksUp('final heal');

    // ---- checker ----
    let dumps: Array<Record<string, Record<string, any>>> = [];
    const settleBy = Date.now() + (options.settleSeconds ?? 60) * 1000;
    for (;;) {
      dumps = await Promise.all(servers.map(async (s) => (await call(net.addresses[s.index], 'dump', null)).result as Record<string, Record<string, any>>));
      if (dumps.every((d) => d && isDeepStrictEqual(d, dumps[0])) || Date.now() > settleBy) break;
      await delay(500);
    }
    const properties: PropertyResult[] = [];
    const equal = dumps.every((d) => isDeepStrictEqual(d, dumps[0]));
    properties.push({ name: 'every replica equal', held: equal, detail: equal ? `${servers.length} replicas, ${Object.keys(dumps[0].counters).length} counters, ${Object.keys(dumps[0].sets).length} sets, ${Object.keys(dumps[0].created).length} created` : describeDifference(dumps, servers.map((s) => s.name)) });
    const state = dumps[0];
    const counterProblems: string[] = [];
    const brokenIds: string[] = [];
    for (const id of new Set([...acked.keys(), ...maybe.keys()])) {
      const value = state.counters[id]?.value ?? 0;
      const low = acked.get(id) ?? 0;
      const high = low + (maybe.get(id) ?? 0);
      if (value < low || value > high) brokenIds.push(id);
      if (value < low) counterProblems.push(`${id}: ${value} < acknowledged ${low} (lost ${low - value})`);
      if (value > high) counterProblems.push(`${id}: ${value} > acknowledged ${low} + unknown-outcome ${high - low} (counted twice)`);
    }
    properties.push({ name: 'counters = sum of acknowledged increments (+ only those with unknown outcome)', held: counterProblems.length === 0, detail: counterProblems.join('; ') || `${acked.size + maybe.size} counters, ${[...acked.values()].reduce((a, b) => a + b, 0)} acknowledged` });
    const setProblems: string[] = [];
    for (const [id, items] of addsAcked) {
      const held = new Set<string>(state.sets[id]?.items ?? []);
      const missing = [...items].filter((item) => !held.has(item));
      if (missing.length) brokenIds.push(id);
      if (missing.length) setProblems.push(`${id}: missing ${missing.length} acknowledged adds (${missing.slice(0, 5).join(', ')})`);
    }
    for (const [id, doc] of Object.entries(state.sets)) {
      const stray = (doc.items as string[]).filter((item) => !addsTried.get(id)?.has(item));
      if (stray.length) setProblems.push(`${id}: holds items never added (${stray.slice(0, 5).join(', ')})`);
    }
    properties.push({ name: 'sets hold every acknowledged add', held: setProblems.length === 0, detail: setProblems.join('; ') || `${[...addsAcked.values()].reduce((a, s) => a + s.size, 0)} acknowledged adds` });
    const missingCreates = [...createsAcked].filter((id) => !state.created[id]);
    brokenIds.push(...missingCreates);
    properties.push({ name: 'each acknowledged create left one document', held: missingCreates.length === 0, detail: missingCreates.length ? `missing: ${missingCreates.slice(0, 10).join(', ')}` : `${createsAcked.size} creates` });
    const late = relays.filter((r) => !r.pausedOrKilled && r.ms > RELAY_TIMEOUT_MS + 1000);
    const wrong = relays.filter((r) => !['answer', 'TimeoutError', 'PeerDownError', 'RemoteError(PeerDownError)'].includes(r.outcome));
    const outcomes = relays.reduce<Record<string, number>>((t, r) => ((t[r.outcome] = (t[r.outcome] ?? 0) + 1), t), {});
    properties.push({ name: `every request settled once (answer, TimeoutError or PeerDownError) within deadline + 1 s`, held: late.length === 0 && wrong.length === 0,
      detail: `${relays.length} requests: ${JSON.stringify(outcomes)}${late.length ? `; ${late.length} late (max ${Math.max(...late.map((r) => r.ms)).toFixed(0)} ms)` : ''}${wrong.length ? `; unexpected: ${wrong.slice(0, 3).map((r) => `${r.outcome} (${r.message})`).join(', ')}` : ''}` });
    type Order = { received: number; outOfOrder: number; examples: string[] };
    const orders = await Promise.all(servers.map(async (s) => (await call(net.addresses[s.index], 'order', null)).result as { broadcasts: Order; messages: Order } | undefined));
    const streams = orders.flatMap((o) => (o ? [o.broadcasts, o.messages] : [undefined]));
    const disordered = streams.filter((o) => !o || o.outOfOrder > 0);
    const received = (pick: (o: { broadcasts: Order; messages: Order }) => Order) => orders.reduce((sum, o) => sum + (o ? pick(o).received : 0), 0);
    properties.push({ name: 'broadcasts and messages per sender arrive in order (gaps allowed across faults)', held: disordered.length === 0,
      detail: `${received((o) => o.broadcasts)} broadcasts and ${received((o) => o.messages)} messages received since each server's last start${disordered.length ? `; out of order: ${disordered.flatMap((o) => o?.examples ?? ['no answer']).join(', ')}` : ''}` });
    roomClients.stop();
    const rooms = roomClients.report();
    properties.push({ name: 'room pushes reach joined clients in order per sender (and without a gap from the client\'s own server process)', held: rooms.outOfOrder.length === 0 && rooms.ownGaps.length === 0 && rooms.received > 0,
      detail: `${rooms.received} pushes received over ${rooms.sessions} client sessions${rooms.outOfOrder.length ? `; out of order: ${rooms.outOfOrder.join(', ')}` : ''}${rooms.ownGaps.length ? `; gaps from the own server: ${rooms.ownGaps.join(', ')}` : ''}${rooms.received === 0 ? '; none received' : ''}` });
    // Jobs: after the heal each job runs somewhere again (failover), and no copy started while links were up.
    let finalJobs: Record<string, string[]> = {};
    const jobsBy = Date.now() + 30_000;
    for (;;) {
      const answers = (await pollJobs()).filter((a): a is JobsAnswer => a !== undefined);
      finalJobs = {};
      for (const a of answers) for (const tag of Object.keys(a.running)) (finalJobs[tag] ??= []).push(`${a.server}/${a.pid}`);
      if (Object.keys(finalJobs).length >= 3 || Date.now() > jobsBy) break;
      await delay(500);
    }
    polling = false;
    await jobPoller;
    const jobCheck = jobs.check();
    properties.push({ name: 'no DISTRIBUTE_PROCESS job started twice while links were up; each runs again after the heal', held: jobCheck.duplicates.length === 0 && Object.keys(finalJobs).length === 3,
      detail: `${jobCheck.copies} copies of ${jobCheck.jobs} jobs seen over ${jobs.polls} polls; at the end ${JSON.stringify(finalJobs)}${jobCheck.duplicates.length ? `; duplicates: ${jobCheck.duplicates.slice(0, 5).join(', ')}` : ''}` });
    const fileProblems = [...wrongBytes];
    const finalStatuses: Record<string, number> = {};
    for (const file of uploads) {
      const via = servers[Math.floor(random() * servers.length)];
      const got = await download(net.addresses[via.index], WEB_PORT, file.id);
      count(finalStatuses, String(got.status));
      if (got.status !== 200) fileProblems.push(`${file.id} (owner ${file.owner}, via ${via.name}): HTTP ${got.status}`);
      else if (got.sha256 !== file.sha256) fileProblems.push(`${file.id} (owner ${file.owner}, via ${via.name}): different bytes`);
    }
    operations['upload acknowledged'] = uploads.length;
    properties.push({ name: 'every uploaded file downloadable with the same bytes while its owner is up', held: fileProblems.length === 0,
      detail: `${uploads.length} acknowledged uploads (${(uploads.reduce((sum, f) => sum + f.size, 0) / 1024 / 1024).toFixed(1)} MiB); right after upload: ${JSON.stringify(uploadChecks)}; after the heal, through random servers: ${JSON.stringify(finalStatuses)}${fileProblems.length ? `; problems: ${fileProblems.slice(0, 5).join('; ')}` : ''}` });
    properties.push({ name: `process RSS bounded (each server's master + worker < ${MAX_RSS_MB} MB)`, held: maxRssMB < MAX_RSS_MB, detail: `max ${maxRssMB.toFixed(0)} MB` });
    const ok = properties.every((p) => p.held);
    const byTime = (line: string) => Number.parseFloat(line);
    // The broken ids with the fewest operations: the shortest story that shows the violation.
    const smallest = [...new Set(brokenIds)].sort((a, b) => (opLog.get(a)?.length ?? 0) - (opLog.get(b)?.length ?? 0)).slice(0, 3);
    const minimalHistory = ok ? [] : [...history, ...smallest.flatMap((id) => opLog.get(id) ?? [])].sort((a, b) => byTime(a) - byTime(b));
    return { seed: options.seed, properties, faults, operations, history, ok, minimalHistory };
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    process.off('exit', cleanup);
    cleanup();
  }
}

function describeDifference(dumps: Array<Record<string, Record<string, unknown>>>, names: string[]): string {
  for (const table of ['counters', 'sets', 'created']) {
    const ids = new Set(dumps.flatMap((d) => Object.keys(d?.[table] ?? {})));
    for (const id of ids) {
      const values = dumps.map((d) => JSON.stringify(d?.[table]?.[id]));
      if (new Set(values).size > 1) return `${table}/${id}: ${values.map((v, i) => `${names[i]}=${v?.slice(0, 80)}`).join(' ')}`;
    }
  }
  return 'replicas differ';
}

/** Resident memory of a process and its children (a server's master and worker), from /proc. */
function groupRssMB(pid: number): number {
  const rss = (p: number) => {
    try {
      return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${p}/status`, 'utf8'))?.[1] ?? 0) / 1024;
    } catch {
      return 0;
    }
  };
  return rss(pid) + childPids(pid).reduce((sum, child) => sum + rss(child), 0);
}

/** A server master's children: its workers. */
function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** One box call over HTTP; `ok` only for a 200 (the acknowledgement). */
function call(address: string, method: string, data: unknown, timeoutMs = 15_000): Promise<{ ok: boolean; result?: unknown }> {
  return new Promise((resolve) => {
    const body = JSON.stringify(data);
    const req = httpRequest({ host: address, port: WEB_PORT, path: `/__API/chaos/${method}`, method: 'POST', headers: { 'Content-Type': 'application/json' }, timeout: timeoutMs }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk) => chunks.push(chunk));
      res.on('end', () => {
        try {
          const parsed = JSON.parse(Buffer.concat(chunks).toString());
          resolve(res.statusCode === 200 ? { ok: true, result: parsed.result } : { ok: false });
        } catch {
          resolve({ ok: false });
        }
      });
      res.on('error', () => resolve({ ok: false }));
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', () => resolve({ ok: false }));
    req.end(body);
  });
}

async function waitAlive(address: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const alive = await new Promise<boolean>((resolve) => {
      const req = httpRequest({ host: address, port: WEB_PORT, path: '/__CHECK_ALIVE', timeout: 2000 }, (res) => {
        res.resume();
        resolve(res.statusCode === 200);
      });
      req.on('timeout', () => req.destroy());
      req.on('error', () => resolve(false));
      req.end();
    });
    if (alive) return;
    if (Date.now() > deadline) throw new Error(`server at ${address} not ready within ${timeoutMs} ms`);
    await delay(250);
  }
}
