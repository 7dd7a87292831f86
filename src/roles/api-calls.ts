/**
 * One box method call, whatever the transport: find the box and method (404 otherwise),
 * authenticate the client once per box, authorize the call, run the method.
 */
import { getBox } from '../boxes/box-registry.js';
import type { Box } from '../boxes/box.js';
import type { CallContext, ClientInfo } from '../boxes/define-box.js';
import { roomDefinition } from '../boxes/define-box.js';
import { ApiError } from './api-errors.js';

export type ClientBase = Omit<ClientInfo, 'user' | 'join' | 'leave'>;

/** A client's identity per box: `authenticate` runs once per (connection, box). */
export class ClientSession {
  private readonly users = new Map<string, Promise<unknown>>();

  constructor(readonly base: ClientBase, private readonly joinFn: (box: Box, room: string, client: ClientInfo) => Promise<void>, private readonly leaveFn: (box: Box, room: string) => void) {}

  async clientFor(box: Box): Promise<ClientInfo> {
    let user = this.users.get(box.name);
    if (!user) {
      user = (async () => (box.definition.authenticate ? box.definition.authenticate({ ...this.base }) : undefined))();
      this.users.set(box.name, user);
      // A failed authentication is not cached: the client may retry with new credentials.
      user.catch(() => this.users.delete(box.name));
    }
    let resolved: unknown;
    try {
      resolved = await user;
    } catch (error) {
      throw new ApiError(401, 'UNAUTHENTICATED', `box '${box.name}' refused this client: ${(error as Error)?.message ?? String(error)}`);
    }
    const client: ClientInfo = {
      ...this.base,
      user: resolved,
      join: (room) => this.joinFn(box, room, client),
      leave: (room) => this.leaveFn(box, room),
    };
    return client;
  }
}

export function findBox(name: unknown): Box {
  const box = typeof name === 'string' ? getBox(name) : undefined;
  if (!box) throw new ApiError(404, 'UNKNOWN_BOX', `there is no box ${JSON.stringify(name)} on this server`);
  return box;
}

export async function callMethod(session: ClientSession, boxName: unknown, method: unknown, data: unknown): Promise<unknown> {
  const box = findBox(boxName);
  if (typeof method !== 'string' || !box.hasMethod(method)) {
    throw new ApiError(404, 'UNKNOWN_METHOD', `box '${box.name}' has no method ${JSON.stringify(method)}`);
  }
  const ctx: CallContext = { box, client: await session.clientFor(box), method };
  await authorize(box, method, ctx);
  return box.definition.methods![method](data, ctx);
}

async function authorize(box: Box, method: string, ctx: CallContext): Promise<void> {
  if (!box.definition.authorize) return;
  let allowed: boolean;
  try {
    allowed = await box.definition.authorize(method, ctx);
  } catch (error) {
    throw new ApiError(403, 'FORBIDDEN', `box '${box.name}' refused '${method}': ${(error as Error)?.message ?? String(error)}`);
  }
  if (allowed === false) throw new ApiError(403, 'FORBIDDEN', `box '${box.name}' does not allow this client to call '${method}'`);
}

/** Checks a client's join against the box's room list and `onJoin` hook. */
export async function checkJoin(box: Box, room: unknown, client: ClientInfo): Promise<string> {
  if (typeof room !== 'string') throw new ApiError(400, 'BAD_MESSAGE', 'join needs a room name (string)');
  // Upload progress rooms are created per upload; their names are unguessable tokens.
  if (room.startsWith('__upload.')) return room;
  const definition = roomDefinition(box.definition, room);
  if (!definition) throw new ApiError(404, 'UNKNOWN_ROOM', `box '${box.name}' has no room ${JSON.stringify(room)}`);
  let allowed = true;
  try {
    allowed = (await definition.onJoin?.({ box, client, method: 'join' })) !== false;
  } catch (error) {
    throw new ApiError(403, 'FORBIDDEN', `room '${room}' refused this client: ${(error as Error)?.message ?? String(error)}`);
  }
  if (!allowed) throw new ApiError(403, 'FORBIDDEN', `room '${room}' refused this client`);
  return room;
}
