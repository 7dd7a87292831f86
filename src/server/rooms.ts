/**
 * Rooms: named groups of client connections. A push from server code on any worker of any
 * server reaches every member on every API server: delivered to this worker's members, relayed
 * to this server's other workers over the master, and published to the other servers, where the
 * receiving worker delivers locally and relays to its siblings in turn.
 */
import { ALL_WORKERS, Channel } from '../core/envelope.js';
import { currentEndpoint, processRole } from '../cpu/index.js';
import { sharedRegistries } from '../cpu/index.js';
import { log } from '../core/logger.js';
import { publishToServers, subscribeFromServers } from './cluster-bus.js';
import { ServerControl } from './control.js';

export interface RoomPush {
  box: string;
  room: string;
  event: string;
  data: unknown;
}

export interface RoomMember {
  /** Delivers one push to the client; must not throw. */
  push(push: RoomPush): void;
}

const SERVERS = 'boxwire.room.servers';

const members = new Map<string, Set<RoomMember>>();
/**
 * Set by the API role, the only one whose clients join rooms: every worker of an API server
 * wires rooms, so relays between them always find a handler. A server without the API role
 * (upload, front door) has no members anywhere and relays nothing — its siblings would have no
 * handler for the relay (`message.no_handler bw.server.roomSiblings`) and nobody to deliver to.
 */
let wired = false;

function key(box: string, room: string): string {
  return `${box}/${room}`;
}

/** This process hosts room members (the API role): registers the handlers that receive pushes from sibling workers and other servers. */
export function wireRooms(): void {
  if (wired) return;
  wired = true;
  sharedRegistries()[Channel.System].on(ServerControl.roomSiblings, (push: RoomPush) => deliverHere(push));
  subscribeFromServers(SERVERS, (push: RoomPush) => {
    deliverHere(push);
    relayToSiblings(push);
  });
}

export function joinRoom(box: string, room: string, member: RoomMember): void {
  const k = key(box, room);
  let set = members.get(k);
  if (!set) members.set(k, (set = new Set()));
  set.add(member);
}

export function leaveRoom(box: string, room: string, member: RoomMember): void {
  const set = members.get(key(box, room));
  if (!set) return;
  set.delete(member);
  if (set.size === 0) members.delete(key(box, room));
}

export function leaveAllRooms(member: RoomMember): void {
  for (const [k, set] of members) {
    set.delete(member);
    if (set.size === 0) members.delete(k);
  }
}

/** Pushes to every member of `box/room` in the whole cluster. */
export function pushToRoom(push: RoomPush): void {
  if (wired) {
    deliverHere(push);
    relayToSiblings(push);
  }
  publishToServers(SERVERS, push);
}

/** Number of members of this process (for status pages). */
export function localRoomSizes(): Record<string, number> {
  return Object.fromEntries([...members].map(([k, set]) => [k, set.size]));
}

function deliverHere(push: RoomPush): void {
  const set = members.get(key(push.box, push.room));
  if (!set) return;
  for (const member of set) member.push(push);
}

function relayToSiblings(push: RoomPush): void {
  // Only a forked worker has siblings; a solo process would hear its own relay.
  if (processRole() !== 'worker') return;
  try {
    currentEndpoint().message({ worker: ALL_WORKERS }, Channel.System, ServerControl.roomSiblings, push);
  } catch (error) {
    log.warn('room.relay_failed', { box: push.box, room: push.room, error });
  }
}
