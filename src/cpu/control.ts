/** System-channel method names boxwire uses between a master and its workers. */
export const Control = {
  /** worker → master: my runtime is listening (before work()); deliver to me from now on (data: pid). */
  up: 'bw.up',
  /** worker → master: work() finished (data: pid). */
  ready: 'bw.ready',
  /** worker → master: a handler was added to / removed from a method ({ channel, method, present }). */
  methods: 'bw.methods',
  /** master → worker: another worker died; reject requests pending on it ({ worker }). */
  peerDown: 'bw.peerDown',
  /** master → worker: stop gracefully (rolling restart or shutdown). */
  stop: 'bw.stop',
} as const;

export interface MethodsNotice {
  channel: number;
  method: string;
  present: boolean;
}
