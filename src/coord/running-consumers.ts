/**
 * The queue consumers running in this process (each `QUEUE(name).process(…)` until it is
 * stopped), so closeCoordination() can stop them all: their timers and claim loops are what
 * would keep a script's process alive after its work is done.
 */
const running = new Set<() => Promise<void>>();

/** Registers a consumer's `stop`; returns the function that unregisters it. */
export function trackConsumer(stop: () => Promise<void>): () => void {
  running.add(stop);
  return () => running.delete(stop);
}

/** Stops every consumer (claims nothing more, running jobs finish and are acknowledged). */
export async function stopAllConsumers(): Promise<void> {
  await Promise.allSettled([...running].map((stop) => stop()));
}
