/**
 * DISTRIBUTE_PROCESS({ tag, complexity }, work): run `work` in exactly one process of the whole
 * cluster, on the least loaded server and worker; when that process or its server dies, run it
 * again elsewhere (a singleton with failover).
 *
 * Every process that calls it *offers* to run the job. Three roles share the work:
 *   - runner (each worker, or a solo process): keeps `work` and runs it when told to;
 *   - agent (each server's master, or the solo process): knows its workers' offers and which of
 *     them runs what; it picks the worker when a job is placed on its server, and reports its
 *     book to the coordinator whenever it changes, when membership changes, and every 2 s;
 *   - coordinator: the agent of the live server whose name sorts first. Once it holds a report
 *     from every live server (and, at start-up, once the mesh settled: linked to everyone or
 *     tried for the failure-detection window), it places each job that runs nowhere on the server with the least
 *     job complexity running (then lowest CPU load, then name).
 * While links are up, a job never runs twice: one coordinator decides, placements are held
 * pending until the chosen server reports the job running, and agents refuse a second start.
 * During a partition each side may run its own copy (each side only sees itself); after the
 * heal the duplicate is logged, since a running `work` cannot be stopped from outside.
 */
import { Channel, MASTER } from '../core/envelope.js';
import { ConfigError } from '../core/errors.js';
import { log } from '../core/logger.js';
import { currentEndpoint, processRole, sharedRegistries } from '../cpu/index.js';
import { ServerControl } from './control.js';
import { notifyMaster, onServerMesh, serverMesh, type ServerMeshView } from './server-clustering.js';

export interface DistributeParams {
  /** The job's name: one process runs it per tag in the whole cluster. */
  tag: string;
  /** How heavy the job is (default 1): placement sums it per server and per worker. */
  complexity?: number;
}

interface Offer {
  pid: number;
  complexity: number;
}

interface JobReport {
  server: string;
  /** Sum of the complexities running on this server. */
  load: number;
  jobs: Record<string, { candidates: number; running: boolean }>;
}

const PLACEMENT_PENDING_MS = 3000;
const REPORT_EVERY_MS = 2000;

// ---- runner ---------------------------------------------------------------------------------

const offered = new Map<string, { work: () => unknown; complexity: number; started: boolean }>();

export function DISTRIBUTE_PROCESS(params: DistributeParams, work: () => unknown): void {
  if (typeof params?.tag !== 'string' || params.tag === '') throw new ConfigError('DISTRIBUTE_PROCESS({ tag, complexity }, work): tag must be a non-empty string');
  if (typeof work !== 'function') throw new ConfigError('DISTRIBUTE_PROCESS({ tag, complexity }, work): work must be a function');
  const complexity = params.complexity ?? 1;
  if (!(complexity > 0) || !Number.isFinite(complexity)) throw new ConfigError(`DISTRIBUTE_PROCESS: complexity must be a positive number (got ${String(params.complexity)})`);
  if (offered.has(params.tag)) throw new ConfigError(`DISTRIBUTE_PROCESS: tag '${params.tag}' was already offered by this process`);
  offered.set(params.tag, { work, complexity, started: false });
  const offer = { tag: params.tag, complexity, pid: process.pid, workerId: currentEndpoint().workerId };
  notifyMaster(ServerControl.jobOffer, offer);
}

function runJob(tag: string): void {
  const job = offered.get(tag);
  if (!job || job.started) return;
  job.started = true;
  log.info('job.started', { tag, workerId: currentEndpoint().workerId });
  try {
    const result = job.work();
    if (result instanceof Promise) result.catch((error) => log.error('job.failed', { tag, error }));
  } catch (error) {
    log.error('job.failed', { tag, error });
  }
}

// ---- agent ----------------------------------------------------------------------------------

class JobAgent {
  private readonly offers = new Map<string, Map<number, Offer>>();
  private readonly running = new Map<string, { workerId: number; pid: number; complexity: number }>();
  /** Coordinator state: the last report of each live server, and placements not yet confirmed. */
  private readonly reports = new Map<string, JobReport>();
  private readonly pending = new Map<string, { server: string; until: number }>();
  private mesh?: ServerMeshView;
  private watchingWorkers = false;

  constructor() {
    onServerMesh((mesh) => {
      this.mesh = mesh;
      mesh.onServerUp(() => this.report());
      mesh.onServerDown((server) => {
        this.reports.delete(server);
        for (const [tag, placement] of this.pending) if (placement.server === server) this.pending.delete(tag);
        this.report();
      });
    });
    setInterval(() => this.report(), REPORT_EVERY_MS).unref();
  }

  private get me(): string {
    return this.mesh?.thisServerName ?? serverMesh()?.thisServerName ?? '';
  }

  private liveServers(): string[] {
    return [this.me, ...(this.mesh?.connectedServerNames() ?? [])].sort();
  }

  private coordinator(): string {
    return this.liveServers()[0];
  }

  offer(tag: string, workerId: number, offer: Offer): void {
    // Subscribed here, not at construction: the process may have become a master since.
    if (!this.watchingWorkers && processRole() === 'master') {
      this.watchingWorkers = true;
      const endpoint = currentEndpoint();
      endpoint.onWorkerDown((id) => this.workerGone(id));
      endpoint.onProcessExit((id, pid) => this.processGone(id, pid));
    }
    // A new pid under a known worker id: the old process is gone (restart), with its offers and jobs.
    for (const byWorker of this.offers.values()) {
      const previous = byWorker.get(workerId);
      if (previous && previous.pid !== offer.pid) byWorker.delete(workerId);
    }
    // Its jobs stay counted as running until that process exits (processGone): after a rolling
    // restart the old process runs them until it stops, and a job never runs twice meanwhile.
    for (const [runningTag, job] of this.running) if (job.workerId === workerId && job.pid !== offer.pid && !processAlive(job.pid)) this.running.delete(runningTag);
    const byWorker = this.offers.get(tag) ?? new Map<number, Offer>();
    byWorker.set(workerId, offer);
    this.offers.set(tag, byWorker);
    this.report();
  }

  /** A process exited (a crash, or an old one after a rolling restart): its jobs are placed again. */
  private processGone(workerId: number, pid: number): void {
    for (const byWorker of this.offers.values()) if (byWorker.get(workerId)?.pid === pid) byWorker.delete(workerId);
    let lost = false;
    for (const [tag, job] of this.running) {
      if (job.pid !== pid) continue;
      this.running.delete(tag);
      lost = true;
      log.info('job.process_exited', { tag, workerId, pid, note: 'placing it again' });
    }
    if (lost) this.report();
  }

  private workerGone(workerId: number): void {
    for (const byWorker of this.offers.values()) byWorker.delete(workerId);
    for (const [tag, job] of this.running) {
      if (job.workerId !== workerId) continue;
      this.running.delete(tag);
      log.warn('job.lost', { tag, workerId, note: 'placing it again' });
    }
    this.report();
  }

  /** The coordinator chose this server for `tag`: start it on the least busy worker that offered it. */
  place(tag: string): void {
    if (this.running.has(tag)) return this.report();
    const candidates = [...(this.offers.get(tag) ?? new Map<number, Offer>())];
    if (candidates.length === 0) return this.report();
    const busy = (workerId: number) => [...this.running.values()].filter((j) => j.workerId === workerId).reduce((sum, j) => sum + j.complexity, 0);
    candidates.sort(([a], [b]) => busy(a) - busy(b) || a - b);
    const [workerId, offer] = candidates[0];
    this.running.set(tag, { workerId, pid: offer.pid, complexity: offer.complexity });
    log.info('job.placed', { tag, server: this.me, workerId });
    try {
      currentEndpoint().message({ worker: workerId }, Channel.System, ServerControl.jobRun, { tag });
    } catch (error) {
      this.running.delete(tag);
      log.warn('job.place_failed', { tag, workerId, error });
    }
    this.report();
  }

  private report(): void {
    const jobs: JobReport['jobs'] = {};
    for (const [tag, byWorker] of this.offers) jobs[tag] = { candidates: byWorker.size, running: this.running.has(tag) };
    for (const tag of this.running.keys()) jobs[tag] ??= { candidates: 0, running: true };
    const load = [...this.running.values()].reduce((sum, j) => sum + j.complexity, 0);
    const report: JobReport = { server: this.me, load, jobs };
    this.mesh?.reportLoad({ jobs: load });
    const coordinator = this.coordinator();
    if (coordinator === this.me) return this.receiveReport(report);
    try {
      currentEndpoint().message({ server: coordinator, worker: MASTER }, Channel.System, ServerControl.jobReport, report);
    } catch (error) {
      log.debug('job.report_failed', { coordinator, error });
    }
  }

  receiveReport(report: JobReport): void {
    this.reports.set(report.server, report);
    this.coordinate();
  }

  /** Coordinator only: place every job that runs nowhere, once every live server has reported. */
  private coordinate(): void {
    const live = this.liveServers();
    if (live[0] !== this.me || !live.every((server) => this.reports.has(server))) return;
    // At start-up a server alone may only be not linked yet: wait, or every server would place.
    if (this.mesh && !this.mesh.settled()) return;
    for (const server of this.reports.keys()) if (!live.includes(server)) this.reports.delete(server);
    const tags = new Set(live.flatMap((server) => Object.keys(this.reports.get(server)!.jobs)));
    const now = Date.now();
    for (const tag of tags) {
      const runningOn = live.filter((server) => this.reports.get(server)!.jobs[tag]?.running);
      if (runningOn.length > 0) {
        this.pending.delete(tag);
        if (runningOn.length > 1) log.warn('job.duplicate', { tag, servers: runningOn, note: 'two copies run (after a partition); restart one server to keep one' });
        continue;
      }
      const placement = this.pending.get(tag);
      if (placement && placement.until > now) continue;
      const candidates = live.filter((server) => (this.reports.get(server)!.jobs[tag]?.candidates ?? 0) > 0);
      if (candidates.length === 0) continue;
      const cpu = (server: string) => this.mesh?.loadOf(server)?.cpu ?? 0;
      candidates.sort((a, b) => this.reports.get(a)!.load - this.reports.get(b)!.load || cpu(a) - cpu(b) || (a < b ? -1 : 1));
      const chosen = candidates[0];
      this.pending.set(tag, { server: chosen, until: now + PLACEMENT_PENDING_MS });
      // Count it at once, so several jobs placed together spread out.
      this.reports.get(chosen)!.load += 1;
      if (chosen === this.me) setImmediate(() => this.place(tag));
      else {
        try {
          currentEndpoint().message({ server: chosen, worker: MASTER }, Channel.System, ServerControl.jobPlace, { tag });
        } catch (error) {
          this.pending.delete(tag);
          log.warn('job.place_failed', { tag, server: chosen, error });
        }
      }
    }
  }
}

let agent: JobAgent | undefined;

function jobAgent(): JobAgent {
  const role = processRole();
  if (role !== 'master' && role !== 'solo') throw new ConfigError('DISTRIBUTE_PROCESS bookkeeping runs in a master or a solo process');
  return (agent ??= new JobAgent());
}

// Every server's agent must report (the coordinator waits for all), offers or not.
onServerMesh(() => void (agent ??= new JobAgent()));

const system = sharedRegistries()[Channel.System];
system.on(ServerControl.jobOffer, (offer: { tag: string; complexity: number; pid: number; workerId: number }) => {
  jobAgent().offer(offer.tag, offer.workerId, { pid: offer.pid, complexity: offer.complexity });
});
system.on(ServerControl.jobPlace, ({ tag }: { tag: string }) => jobAgent().place(tag));
system.on(ServerControl.jobReport, (report: JobReport) => jobAgent().receiveReport(report));
system.on(ServerControl.jobRun, ({ tag }: { tag: string }) => runJob(tag));

/** Whether a process of this machine (a worker of this master) still exists. */
function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}
