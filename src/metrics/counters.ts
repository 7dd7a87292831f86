/**
 * The hot-path figures of one process, as plain numbers. Messaging, requests and the API bump
 * these with one increment; nothing on those paths touches a metric library, a label map or a
 * clock (request latency is timed for one request in REQUEST_SAMPLE_EVERY). prom-client reads
 * them only when /__METRICS is scraped (see process-metrics.ts).
 */

/** Messages handed to the messaging layer (sent) and dispatched (received), by Channel (cpu, server, system). */
export const messageCounts = { sent: [0, 0, 0], received: [0, 0, 0] };

/** Requests of this process that ran out of time. */
export const requestCounts = { timeouts: 0 };

/** One request in this many (by request id) has its latency timed: a power of two. */
export const REQUEST_SAMPLE_EVERY = 16;

/** Upper bounds (seconds) of the request latency histogram's buckets. */
export const LATENCY_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30];

/** Sampled request latency: per-bucket counts (not cumulative; the last is +Inf), sum and count. */
export const requestLatency = { buckets: new Array<number>(LATENCY_BUCKETS.length + 1).fill(0), sum: 0, count: 0 };

export function observeRequestSeconds(seconds: number): void {
  let bucket = 0;
  while (bucket < LATENCY_BUCKETS.length && seconds > LATENCY_BUCKETS[bucket]) bucket++;
  requestLatency.buckets[bucket]++;
  requestLatency.sum += seconds;
  requestLatency.count++;
}

/** Files stored by the upload role and their bytes. */
export const uploadCounts = { files: 0, bytes: 0 };
