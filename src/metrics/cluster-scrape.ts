/**
 * `GET /__METRICS`: one server's metrics, aggregated over its master and all its workers.
 *
 * The worker that takes the HTTP request asks its master; the master asks each ready worker for
 * its metrics as JSON (system channel, addressed by worker id), adds its own, and answers with
 * the list; the worker aggregates it with prom-client's AggregatorRegistry (sums per label set;
 * per-process families carry a `process` label and stay apart) and renders the text format.
 * Nothing is aggregated between scrapes, and concurrent scrapes in one process share one round.
 * prom-client and the collectors load on the first scrape, not at start-up.
 */
import type { MetricObjectWithValues, MetricValue } from 'prom-client';
import { Channel, MASTER } from '../core/envelope.js';
import { log } from '../core/logger.js';
import { currentEndpoint, processRole, sharedRegistries } from '../cpu/index.js';
import { startLoopDelay } from './event-loop-delay.js';
import { metricsEnabled } from './metrics-enabled.js';

type MetricsJson = MetricObjectWithValues<MetricValue<string>>[];

/** System-channel request: one process's metrics as JSON. */
const PROCESS_METRICS = 'bw.metrics.process';
/** System-channel request a worker sends its master: every process's metrics of this server. */
const SERVER_METRICS = 'bw.metrics.server';
/** How long the master waits for each worker, and a worker for its master. */
const WORKER_TIMEOUT_MS = 3_000;
const SERVER_TIMEOUT_MS = 5_000;

/** prom-client's Registry.PROMETHEUS_CONTENT_TYPE (a literal: prom-client loads on the first scrape). */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

async function processMetricsJson(): Promise<MetricsJson> {
  return (await import('./process-metrics.js')).processMetricsJson();
}

let installed = false;

/** Registers the handlers; boot() calls it in every process of a server. */
export function installMetricsHandlers(): void {
  if (installed || !metricsEnabled()) return;
  installed = true;
  startLoopDelay();
  const system = sharedRegistries()[Channel.System];
  system.on(PROCESS_METRICS, () => processMetricsJson());
  system.on(SERVER_METRICS, () => gatherServer());
}

interface Gathered {
  processes: MetricsJson[];
  /** Workers that did not answer in time (restarting, stuck). */
  missing: number;
}

/** In the master (or a process without CPU clustering): its own metrics and every ready worker's. */
async function gatherServer(): Promise<Gathered> {
  const endpoint = currentEndpoint();
  const own = await processMetricsJson();
  if (processRole() !== 'master') return { processes: [own], missing: 0 };
  const answers = await Promise.allSettled(
    endpoint.readyWorkerIds().map((id) => endpoint.request<MetricsJson>({ worker: id }, Channel.System, PROCESS_METRICS, null, WORKER_TIMEOUT_MS)),
  );
  const processes = [own];
  let missing = 0;
  for (const answer of answers) {
    if (answer.status === 'fulfilled') processes.push(answer.value);
    else {
      missing++;
      log.debug('metrics.worker_missing', { error: answer.reason });
    }
  }
  return { processes, missing: missing + endpoint.workerCount - endpoint.readyWorkerIds().length };
}

let inFlight: Promise<string> | undefined;

/** This server's metrics in the Prometheus text format. */
export function scrapeServerMetrics(): Promise<string> {
  inFlight ??= render().finally(() => (inFlight = undefined));
  return inFlight;
}

async function render(): Promise<string> {
  const gathered = processRole() === 'worker'
    ? await currentEndpoint().request<Gathered>({ worker: MASTER }, Channel.System, SERVER_METRICS, null, SERVER_TIMEOUT_MS)
    : await gatherServer();
  const { AggregatorRegistry } = await import('prom-client');
  const aggregated = AggregatorRegistry.aggregate(gathered.processes);
  const text = await aggregated.metrics();
  const header = [
    '# HELP boxwire_metrics_processes Processes of this server whose metrics this scrape holds.',
    '# TYPE boxwire_metrics_processes gauge',
    `boxwire_metrics_processes ${gathered.processes.length}`,
    '# HELP boxwire_metrics_processes_missing Worker processes that did not answer this scrape (restarting or busy).',
    '# TYPE boxwire_metrics_processes_missing gauge',
    `boxwire_metrics_processes_missing ${gathered.missing}`,
  ].join('\n');
  return `${header}\n\n${text}`;
}
