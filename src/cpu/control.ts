/**
 * The CPU layer's system-channel methods: the runtime's own notices between a master and its
 * workers. Like every layer's table (server/control.ts, store/store-methods.ts, …) the names
 * follow one rule, `bw.<layer>.<name>`, and the rule only names: what the runtime consumes itself
 * is decided by membership in the sets below, never by a prefix, so any other system method —
 * one-way or request — reaches the handlers registered for it.
 */
export const Control = {
  /** worker → master: my runtime is listening (before work()); deliver to me from now on (data: pid). */
  up: 'bw.cpu.up',
  /** worker → master: work() finished (data: pid). */
  ready: 'bw.cpu.ready',
  /** worker → master: a handler was added to / removed from a method ({ channel, method, present }). */
  methods: 'bw.cpu.methods',
  /** master → worker: another worker died; reject requests pending on it ({ worker }). */
  peerDown: 'bw.cpu.peerDown',
  /** master → worker: stop gracefully (rolling restart or shutdown). */
  stop: 'bw.cpu.stop',
  /** worker → master: a configuration error; stop the whole server with this one line, exit 1 ({ message }). */
  configError: 'bw.cpu.configError',
} as const;

/** One-way system messages from a worker that its master's runtime consumes (not dispatched). */
const MASTER_CONTROL: ReadonlySet<string> = new Set([Control.up, Control.ready, Control.methods, Control.configError]);
/** One-way system messages from the master that a worker's runtime consumes (not dispatched). */
const WORKER_CONTROL: ReadonlySet<string> = new Set([Control.peerDown, Control.stop]);

export function isMasterControl(method: string): boolean {
  return MASTER_CONTROL.has(method);
}

export function isWorkerControl(method: string): boolean {
  return WORKER_CONTROL.has(method);
}

export interface MethodsNotice {
  channel: number;
  method: string;
  present: boolean;
}
