import { describeAddress, type Endpoint } from './endpoint.js';
import { log } from './logger.js';

/** Something user code may be waiting on at start-up, described for a person ("store catching up …"). */
export type WaitSource = () => string[];

const sources = new Set<WaitSource>();
let describeServer: (server: string) => string | undefined = () => undefined;

/** Adds a description of what start-up may wait on (the store's catch-up, …). Returns a remover. */
export function addStartupWaitSource(source: WaitSource): () => void {
  sources.add(source);
  return () => void sources.delete(source);
}

/** SERVER_CLUSTERING says how a server stands (e.g. "not connected") in the warning. */
export function setServerDescriber(describe: (server: string) => string | undefined): void {
  describeServer = describe;
}

/** After how long a start that has not finished is reported (BOXWIRE_START_WARN_MS, default 5 s). */
export function startWarnAfterMs(): number {
  const value = Number(process.env.BOXWIRE_START_WARN_MS);
  return Number.isFinite(value) && value > 0 ? value : 5_000;
}

/** Everything this process waits on now, one line each. */
export function describeWaits(endpoint: Endpoint): string[] {
  const lines: string[] = [];
  for (const request of endpoint.requests.describePending()) {
    const to = describeAddress({ server: request.server || undefined, worker: request.worker });
    const note = request.server ? describeServer(request.server) : undefined;
    lines.push(`reply to request '${request.method}' from ${to}${note ? ` (${note})` : ''}`);
  }
  for (const [method, count] of Object.entries(endpoint.heldMethods())) {
    lines.push(`${count} message(s) for '${method}' that arrived here are waiting for a handler (register it with on() before awaiting anything)`);
  }
  for (const source of sources) lines.push(...source());
  return lines;
}

/**
 * Runs user start-up code (`work()`, a box's `onBoot`). Should it still run after a few seconds,
 * logs a warning naming what this process waits on — a reply from a server that is down, a
 * message held for a handler that `work()` registers only later — instead of hanging silently;
 * again, less often, while it goes on.
 */
export async function watchStartUp<T>(what: string, endpoint: () => Endpoint, run: () => T | Promise<T>): Promise<T> {
  const first = startWarnAfterMs();
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const warn = (next: number) => {
    timer = setTimeout(() => {
      log.warn('start.waiting', {
        code: what,
        waitedMs: Date.now() - started,
        waitingFor: describeWaits(endpoint()),
        note: 'start-up user code has not finished; requests time out after their deadline (30 s by default)',
      });
      warn(Math.min(next * 2, 60_000));
    }, next);
    timer.unref();
  };
  warn(first);
  try {
    return await run();
  } finally {
    clearTimeout(timer);
  }
}
