/**
 * System-channel method names used by SERVER_CLUSTERING, DISTRIBUTE_PROCESS and rooms, between a
 * server's master and its workers and between masters of different servers. Named by the one
 * rule every layer's table follows, `bw.<layer>.<name>` (see cpu/control.ts); the name decides
 * nothing about routing.
 */
export const ServerControl = {
  /** worker → master (request): these are my SERVER_CLUSTERING options; reply: membership snapshot. */
  config: 'bw.server.config',
  /** master → workers: a server's link came up ({ server }). */
  up: 'bw.server.up',
  /** master → workers: a server went down; reject requests pending on it ({ server }). */
  down: 'bw.server.down',
  /** worker → master (request): the clock offsets the mesh measured. */
  offsets: 'bw.server.offsets',
  /** worker → master: I can run job `tag` ({ tag, complexity, pid }). */
  jobOffer: 'bw.server.jobOffer',
  /** master → worker: run job `tag` now ({ tag }). */
  jobRun: 'bw.server.jobRun',
  /** master → coordinator master: this server's jobs (a JobReport). */
  jobReport: 'bw.server.jobReport',
  /** coordinator → master: place job `tag` on one of your workers ({ tag }). */
  jobPlace: 'bw.server.jobPlace',
  /** worker → its sibling workers: a room push to deliver to their members (a RoomPush). */
  roomSiblings: 'bw.server.roomSiblings',
} as const;

/** What a master tells a worker about membership when the worker joins. */
export interface MembershipSnapshot {
  connected: string[];
}
