/** Event-loop delay of this process, sampled between scrapes (Node's histogram, 10 ms resolution). */
import { monitorEventLoopDelay } from 'node:perf_hooks';

export const loopDelay = monitorEventLoopDelay({ resolution: 10 });

/** Starts sampling; idempotent. */
export function startLoopDelay(): void {
  loopDelay.enable();
}
