/**
 * A box is UPPERCASE's unit of application code: methods clients may call, rooms they may join,
 * static files the front door serves, hooks to authenticate connections and authorize calls,
 * and a boot hook. `defineBox` checks a definition once, at load, so mistakes surface as one
 * clear error at start-up instead of a 500 on the first call.
 */
import { isUnsafeKey } from '../core/safe-keys.js';
import { ConfigError } from '../core/errors.js';
import type { Box } from './box.js';

/** Who is calling: one WebSocket connection, or one HTTP request. */
export interface ClientInfo {
  /** Unique per connection (per request for HTTP). */
  id: string;
  transport: 'ws' | 'http';
  remoteAddress: string;
  /** What `authenticate` returned (undefined when the box has no such hook). */
  user: unknown;
  /** Query parameters of the WebSocket URL or the HTTP call (browsers cannot set upgrade headers). */
  query: Record<string, string>;
  /** Request headers of the WebSocket upgrade or the HTTP call. */
  headers: Record<string, string | string[] | undefined>;
  /** Joins one of the box's rooms (WebSocket clients only); rooms are checked like client joins. */
  join(room: string): Promise<void>;
  leave(room: string): void;
}

export interface CallContext {
  box: Box;
  client: ClientInfo;
  method: string;
}

export type BoxMethod = (data: any, ctx: CallContext) => unknown;

export interface RoomDefinition {
  /** Return false (or throw) to refuse a client's join. */
  onJoin?(ctx: CallContext): boolean | Promise<boolean>;
}

export interface BoxDefinition {
  name: string;
  methods?: Record<string, BoxMethod>;
  /** Room names clients may join, or name → hooks. Server code may push to any room. */
  rooms?: string[] | Record<string, RoomDefinition>;
  /** Folder of static files, relative to the box folder (default `static`). */
  static?: string;
  /** Runs for each new connection / HTTP call; its return value becomes `client.user`. Throw to refuse. */
  authenticate?(client: Omit<ClientInfo, 'user' | 'join' | 'leave'>): unknown;
  /** Runs before every method call; return false (or throw) to refuse it. */
  authorize?(method: string, ctx: CallContext): boolean | Promise<boolean>;
  /** Runs once in every worker of every server that loads the box, after its stores are ready. */
  onBoot?(box: Box): unknown;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]*$/;
const METHOD = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function defineBox<T extends BoxDefinition>(definition: T): T {
  const where = `box '${definition?.name ?? '?'}'`;
  if (typeof definition !== 'object' || definition === null) throw new ConfigError('defineBox(definition): definition must be an object');
  if (typeof definition.name !== 'string' || !NAME.test(definition.name) || isUnsafeKey(definition.name)) {
    throw new ConfigError(`defineBox: name must be a box name (letters, digits, _ and -, starting with a letter), got ${JSON.stringify(definition.name)}`);
  }
  for (const [method, handler] of Object.entries(definition.methods ?? {})) {
    if (!METHOD.test(method) || isUnsafeKey(method)) throw new ConfigError(`${where}: method name '${method}' must use letters, digits, _, . and - (and no segment __proto__, prototype or constructor)`);
    if (typeof handler !== 'function') throw new ConfigError(`${where}: methods.${method} must be a function`);
  }
  for (const room of roomNames(definition)) {
    if (!METHOD.test(room) || isUnsafeKey(room)) throw new ConfigError(`${where}: room name '${room}' must use letters, digits, _, . and -`);
  }
  for (const hook of ['authenticate', 'authorize', 'onBoot'] as const) {
    if (definition[hook] !== undefined && typeof definition[hook] !== 'function') throw new ConfigError(`${where}: ${hook} must be a function`);
  }
  return definition;
}

export function roomNames(definition: BoxDefinition): string[] {
  if (!definition.rooms) return [];
  return Array.isArray(definition.rooms) ? definition.rooms : Object.keys(definition.rooms);
}

export function roomDefinition(definition: BoxDefinition, room: string): RoomDefinition | undefined {
  if (!definition.rooms) return undefined;
  if (Array.isArray(definition.rooms)) return definition.rooms.includes(room) ? {} : undefined;
  return Object.prototype.hasOwnProperty.call(definition.rooms, room) ? definition.rooms[room] ?? {} : undefined;
}
