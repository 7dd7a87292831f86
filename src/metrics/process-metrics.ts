/**
 * This process's metrics as prom-client objects. Each family reads plain figures (counters.ts,
 * the mesh, the master's worker slots, the store replica) in its `collect()`, which prom-client
 * runs only when the registry is read: a scrape. `processMetricsJson()` is what a process hands
 * to its master for aggregation (cluster-scrape.ts).
 *
 * Label names (stable; see docs/metrics.md): `process` (master, worker-<id>), `channel` (cpu,
 * server, system), `peer` (a server name, or worker-<id> for a worker's outbox in its master),
 * `worker` (a worker id), `store`, `transport` (http, ws), `box`, `method`, `stat`.
 */
import { Counter, Gauge, Registry, type Metric, type MetricObjectWithValues, type MetricValue } from 'prom-client';
import { currentEndpoint, processRole } from '../cpu/index.js';
import { apiCounters } from './api-counters.js';
import { loopDelay, startLoopDelay } from './event-loop-delay.js';
import { LATENCY_BUCKETS, messageCounts, requestCounts, requestLatency, uploadCounts } from './counters.js';
import { metricSources } from './sources.js';

type Labels = Record<string, string | number>;
type Sample = [labels: Labels, value: number];

const CHANNELS = ['cpu', 'server', 'system'];

/** `master`, or `worker-<id>` (a process without CPU clustering is worker 1 of 1). */
export function processLabel(): string {
  return processRole() === 'master' ? 'master' : `worker-${currentEndpoint().workerId}`;
}

let registry: Registry | undefined;

/** The registry of this process, created on first use. */
export function processRegistry(): Registry {
  if (registry) return registry;
  registry = new Registry();
  startLoopDelay();
  for (const [name, help, labelNames, read] of COUNTERS) {
    new Counter({ name, help, labelNames, registers: [registry], collect() { this.reset(); for (const [labels, value] of read()) this.inc(labels, value); } });
  }
  for (const [name, help, labelNames, read] of GAUGES) {
    new Gauge({ name, help, labelNames, registers: [registry], collect() { this.reset(); for (const [labels, value] of read()) this.set(labels, value); } });
  }
  registry.registerMetric(sampledHistogram as unknown as Metric);
  return registry;
}

/** This process's metrics as JSON: plain data that crosses to the master for aggregation. */
export function processMetricsJson(): Promise<MetricObjectWithValues<MetricValue<string>>[]> {
  return processRegistry().getMetricsAsJSON();
}

const peers = () => [...(metricSources.mesh?.peers.values() ?? [])];
const slots = () => currentEndpoint().workerSlots();
const perProcess = (value: number): Sample[] => [[{ process: processLabel() }, value]];

const COUNTERS: Array<[string, string, string[], () => Sample[]]> = [
  ['boxwire_messages_sent_total', 'Messages (one-way, requests, replies) sent by this server\'s processes, per channel.', ['channel'],
    () => CHANNELS.map((channel, i) => [{ channel }, messageCounts.sent[i]])],
  ['boxwire_messages_received_total', 'Messages dispatched to a handler or a waiting request in this server\'s processes, per channel.', ['channel'],
    () => CHANNELS.map((channel, i) => [{ channel }, messageCounts.received[i]])],
  ['boxwire_request_timeouts_total', 'Requests that got no reply before their deadline (TimeoutError).', [],
    () => [[{}, requestCounts.timeouts]]],
  ['boxwire_outbox_overflows_total', 'Sends refused because the outbox (or the link\'s write buffer) for a peer was full (OverflowError).', ['peer'],
    () => [...peers().map((p): Sample => [{ peer: p.name }, p.outbox.overflows]), ...slots().map((s): Sample => [{ peer: `worker-${s.id}` }, s.outbox.overflows])]],
  ['boxwire_link_reconnects_total', 'Times the link to a server came up again after its first connection.', ['peer'],
    () => peers().map((p) => [{ peer: p.name }, Math.max(0, p.connects - 1)])],
  ['boxwire_link_downs_total', 'Times the link to a server went down.', ['peer'],
    () => peers().map((p) => [{ peer: p.name }, p.downs])],
  ['boxwire_worker_restarts_total', 'Workers re-forked after they exited unexpectedly (crash, kill), per worker id.', ['worker'],
    () => slots().map((s) => [{ worker: s.id }, s.restarts])],
  ['boxwire_api_calls_total', 'Box method calls received by the API role (rate-limited and failed ones included).', ['transport', 'box', 'method'],
    () => [...apiCounters()].map((c) => [{ transport: c.transport, box: c.box, method: c.method }, c.calls])],
  ['boxwire_api_errors_total', 'Box method calls answered with an error (not counting rate-limited ones).', ['transport', 'box', 'method'],
    () => [...apiCounters()].map((c) => [{ transport: c.transport, box: c.box, method: c.method }, c.errors])],
  ['boxwire_api_rate_limited_total', 'Box method calls refused by the rate limit (RATE_LIMITED, 429).', ['transport', 'box', 'method'],
    () => [...apiCounters()].map((c) => [{ transport: c.transport, box: c.box, method: c.method }, c.rateLimited])],
  ['boxwire_upload_files_total', 'Files stored by the upload role.', [], () => [[{}, uploadCounts.files]]],
  ['boxwire_upload_bytes_total', 'Bytes of the files stored by the upload role.', [], () => [[{}, uploadCounts.bytes]]],
];

const GAUGES: Array<[string, string, string[], () => Sample[]]> = [
  ['boxwire_outbox_messages', 'Messages waiting in the outbox for a peer that is down or restarting.', ['peer'],
    () => [...peers().map((p): Sample => [{ peer: p.name }, p.outbox.size]), ...slots().map((s): Sample => [{ peer: `worker-${s.id}` }, s.outbox.size])]],
  ['boxwire_outbox_bytes', 'Bytes waiting in the outbox for a peer that is down or restarting.', ['peer'],
    () => [...peers().map((p): Sample => [{ peer: p.name }, p.outbox.byteSize]), ...slots().map((s): Sample => [{ peer: `worker-${s.id}` }, s.outbox.byteSize])]],
  ['boxwire_link_up', '1 while the link to a server is up, else 0.', ['peer'],
    () => peers().map((p) => [{ peer: p.name }, p.isUp ? 1 : 0])],
  ['boxwire_heartbeat_rtt_seconds', 'Heartbeat round trip to a server (the least delayed of the recent samples).', ['peer'],
    () => peers().flatMap((p): Sample[] => (p.isUp && p.heartbeat?.clock.roundTripMs !== undefined ? [[{ peer: p.name }, p.heartbeat.clock.roundTripMs / 1000]] : []))],
  ['boxwire_clock_offset_seconds', 'How far a server\'s clock is ahead of this one\'s (negative: behind).', ['peer'],
    () => peers().flatMap((p): Sample[] => (p.isUp && p.heartbeat?.clock.offsetMs !== undefined ? [[{ peer: p.name }, p.heartbeat.clock.offsetMs / 1000]] : []))],
  ['boxwire_worker_up', '1 while a process serves the worker id and is ready, else 0.', ['worker'],
    () => slots().map((s) => [{ worker: s.id }, s.ready ? 1 : 0])],
  ['boxwire_store_documents', 'Documents in this server\'s replica of a store (expired ones count until the next sweep).', ['store'],
    () => [...(metricSources.replica?.replica.state.tables ?? new Map())].map(([store, table]) => [{ store }, table.size])],
  ['boxwire_store_unacked_operations', 'Store writes made on this server that a peer has not yet confirmed holding (replication lag).', ['peer'],
    () => Object.entries(metricSources.replica?.unacknowledged(peers().map((p) => p.name)) ?? {}).map(([peer, count]) => [{ peer }, count])],
  ['boxwire_websocket_clients', 'WebSocket clients connected to the API role.', [],
    () => (metricSources.websocketClients ? [[{}, metricSources.websocketClients()]] : [])],
  ['boxwire_event_loop_lag_seconds', 'Event-loop delay of a process since the previous scrape: mean, p50, p99, max.', ['process', 'stat'],
    () => readLoopDelay()],
  ['boxwire_heap_used_bytes', 'V8 heap in use, per process.', ['process'], () => perProcess(process.memoryUsage().heapUsed)],
  ['boxwire_heap_total_bytes', 'V8 heap reserved, per process.', ['process'], () => perProcess(process.memoryUsage().heapTotal)],
  ['boxwire_resident_memory_bytes', 'Resident set size, per process.', ['process'], () => perProcess(process.memoryUsage.rss())],
];

function readLoopDelay(): Sample[] {
  const process = processLabel();
  const seconds = (ns: number) => (Number.isFinite(ns) ? ns / 1e9 : 0);
  const samples: Sample[] = [
    [{ process, stat: 'mean' }, seconds(loopDelay.mean)],
    [{ process, stat: 'p50' }, seconds(loopDelay.percentile(50))],
    [{ process, stat: 'p99' }, seconds(loopDelay.percentile(99))],
    [{ process, stat: 'max' }, seconds(loopDelay.max)],
  ];
  loopDelay.reset();
  return samples;
}

/**
 * The request latency histogram. Its buckets are plain numbers filled on the request path (one
 * request in REQUEST_SAMPLE_EVERY), so it is a metric object of its own rather than a
 * prom-client Histogram, which would have to be fed every observation. prom-client reads it
 * through `get()`, in the shape its own histograms have, and aggregates it the same way.
 */
const sampledHistogram = {
  name: 'boxwire_request_duration_seconds',
  help: 'Request latency from send to reply, requests sent by this server\'s processes (one request in 16 is timed).',
  type: 'histogram',
  aggregator: 'sum',
  get() {
    const name = this.name;
    const values: Array<{ labels: Labels; value: number; metricName: string }> = [];
    let cumulative = 0;
    LATENCY_BUCKETS.forEach((le, i) => {
      cumulative += requestLatency.buckets[i];
      values.push({ labels: { le }, value: cumulative, metricName: `${name}_bucket` });
    });
    values.push({ labels: { le: '+Inf' }, value: requestLatency.count, metricName: `${name}_bucket` });
    values.push({ labels: {}, value: requestLatency.sum, metricName: `${name}_sum` });
    values.push({ labels: {}, value: requestLatency.count, metricName: `${name}_count` });
    return { name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  },
} as const;
