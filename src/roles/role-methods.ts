/**
 * The roles' system-channel methods (between a server's master and its workers, and between
 * masters for the cluster status). Named by the one rule every layer's table follows,
 * `bw.<layer>.<name>` (see cpu/control.ts); the name decides nothing about routing.
 */
export const RoleMethods = {
  /** worker → master: a readiness probe it answered (a ReadyProbe). */
  readyProbe: 'bw.roles.readyProbe',
  /** worker → master (request): the whole cluster status view. */
  statusGet: 'bw.roles.statusGet',
  /** worker → master: names of stores it opened. */
  statusStores: 'bw.roles.statusStores',
  /** master → master of another server (request): that server's own status. */
  statusLocal: 'bw.roles.statusLocal',
  /** master → workers: a new topology view (a TopologySnapshot). */
  topologyPush: 'bw.roles.topology',
  /** worker → master: a (re)started worker asks for the view ({ workerId, pid }). */
  topologyHello: 'bw.roles.topologyHello',
  /** worker → master, every second: its client connections ({ workerId, connections }). */
  connectionsReport: 'bw.roles.connections',
  /** worker → master (request): a rate-limit lease ({ address, want } → { granted, retryAfterMs }). */
  rateLease: 'bw.roles.rateLease',
} as const;
