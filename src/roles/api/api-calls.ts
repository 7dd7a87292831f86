/**
 * One box method call, whatever the transport: find the box and method (404 otherwise),
 * authenticate the client once per box, authorize the call, run the method.
 */
import { isUnsafeKey } from '../../core/safe-keys.js';
import { getBox } from '../../boxes/box-registry.js';
import type { Box } from '../../boxes/box.js';
import type { CallContext, ClientInfo } from '../../boxes/define-box.js';
import { roomDefinition } from '../../boxes/define-box.js';
import { ApiError } from './api-errors.js';
import { nextClientId } from './client-id.js';

export type ClientBase = Omit<ClientInfo, 'user' | 'join' | 'leave'>;

/**
 * A client's identity per box: `authenticate` runs once per (connection, box) and the resulting
 * ClientInfo is reused for every later call, so a call on an authenticated connection costs no
 * allocation and no extra promise.
 */
export class ClientSession implements ClientSource {
  private readonly clients = new Map<string, ClientInfo | Promise<ClientInfo>>();

  constructor(readonly base: ClientBase, private readonly joinFn: (box: Box, room: string, client: ClientInfo) => Promise<void>, private readonly leaveFn: (box: Box, room: string) => void) {}

  /** The client as `box` knows it: at once when known (or the box has no authenticate hook). */
  clientFor(box: Box): ClientInfo | Promise<ClientInfo> {
    const known = this.clients.get(box.name);
    if (known) return known;
    const authenticate = box.definition.authenticate;
    if (!authenticate) return this.remember(box, undefined);
    const pending = (async () => {
      try {
        return this.remember(box, await authenticate({ ...this.base }));
      } catch (error) {
        // A failed authentication is not cached: the client may retry with new credentials.
        this.clients.delete(box.name);
        throw new ApiError(401, 'UNAUTHENTICATED', `box '${box.name}' refused this client: ${(error as Error)?.message ?? String(error)}`);
      }
    })();
    this.clients.set(box.name, pending);
    return pending;
  }

  private remember(box: Box, user: unknown): ClientInfo {
    const client: ClientInfo = {
      ...this.base,
      user,
      join: (room) => this.joinFn(box, room, client),
      leave: (room) => this.leaveFn(box, room),
    };
    this.clients.set(box.name, client);
    return client;
  }
}

export function findBox(name: unknown): Box {
  if (typeof name === 'string') refuseUnsafeName(name, 'box name');
  const box = typeof name === 'string' ? getBox(name) : undefined;
  if (!box) throw new ApiError(404, 'UNKNOWN_BOX', `there is no box ${JSON.stringify(name)} on this server`);
  return box;
}

/**
 * Runs a box method. Synchronous all the way when nothing on the path is asynchronous (no
 * authenticate still pending, no authorize hook, a method returning a plain value): the common
 * case answers without a promise hop. Throws or rejects with ApiError for 4xx cases.
 */
/** Where a call's ClientInfo comes from: a WebSocket connection's session, or one HTTP request. */
export interface ClientSource {
  clientFor(box: Box): ClientInfo | Promise<ClientInfo>;
}

/**
 * The client of one HTTP call. No session map or closures per box: an HTTP call asks one box
 * once, and this is the API's hottest path.
 */
export class HttpClient implements ClientSource {
  constructor(private readonly base: ClientBase & { id: string }) {}

  clientFor(box: Box): ClientInfo | Promise<ClientInfo> {
    const authenticate = box.definition.authenticate;
    if (!authenticate) return this.info(undefined);
    return (async () => {
      try {
        return this.info(await authenticate({ ...this.base, id: (this.base.id ||= nextClientId()) }));
      } catch (error) {
        throw new ApiError(401, 'UNAUTHENTICATED', `box '${box.name}' refused this client: ${(error as Error)?.message ?? String(error)}`);
      }
    })();
  }

  private info(user: unknown): ClientInfo {
    return new HttpClientInfo(this.base, user);
  }
}

/** One HTTP caller as a box sees it; a class so the lazy id stays a cheap prototype getter. */
class HttpClientInfo implements ClientInfo {
  readonly transport = 'http' as const;
  readonly remoteAddress: string;
  readonly headers: ClientInfo['headers'];
  readonly query: Record<string, string>;
  private lazyId: string;

  constructor(base: ClientBase & { id: string }, readonly user: unknown) {
    this.remoteAddress = base.remoteAddress;
    this.headers = base.headers;
    this.query = base.query;
    this.lazyId = base.id;
  }

  /** Made only if the box reads it (most calls never do). */
  get id(): string {
    return (this.lazyId ||= nextClientId());
  }

  join(): Promise<void> {
    return refuseJoin();
  }

  leave(): void {}
}

function refuseJoin(): Promise<void> {
  return Promise.reject(new ApiError(400, 'NOT_SUPPORTED', 'HTTP callers cannot join rooms; use the WebSocket API'));
}

export function callMethod(session: ClientSource, boxName: unknown, method: unknown, data: unknown): unknown {
  const box = findBox(boxName);
  if (typeof method === 'string') refuseUnsafeName(method, 'method name');
  if (typeof method !== 'string' || !box.hasMethod(method)) {
    throw new ApiError(404, 'UNKNOWN_METHOD', `box '${box.name}' has no method ${JSON.stringify(method)}`);
  }
  const client = session.clientFor(box);
  if (client instanceof Promise) return client.then((c) => invoke(box, method, data, c));
  return invoke(box, method, data, client);
}

function invoke(box: Box, method: string, data: unknown, client: ClientInfo): unknown {
  const ctx: CallContext = { box, client, method };
  if (!box.definition.authorize) return box.definition.methods![method](data, ctx);
  return authorize(box, method, ctx).then(() => box.definition.methods![method](data, ctx));
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
  refuseUnsafeName(room, 'room name');
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

/** A client naming `__proto__`, `constructor` or `prototype` gets a clear 400, never a lookup. */
function refuseUnsafeName(name: string, what: string): void {
  if (isUnsafeKey(name)) throw new ApiError(400, 'BOXWIRE_UNSAFE_KEY', `${what} ${JSON.stringify(name.slice(0, 100))} is refused: no segment may be __proto__, prototype or constructor`);
}
