/**
 * A loaded box as its own code sees it (`onBoot(box)`, `ctx.box`): namespaced stores, rooms to
 * push to, its folder, and a logger tagged with its name.
 */
import { createLogger, type Logger } from '../core/logger.js';
import { pushToRoom } from '../server/rooms.js';
import { roomDefinition, type BoxDefinition } from './define-box.js';
import { boxStore, type BoxStore } from './box-store.js';

export class Box {
  readonly name: string;
  readonly log: Logger;
  private readonly stores = new Map<string, BoxStore>();

  constructor(readonly definition: BoxDefinition, readonly dir: string) {
    this.name = definition.name;
    this.log = createLogger({ box: this.name });
  }

  /** The box's own store: `box.SHARED_STORE('x')` is the cluster-wide store `'<box>.x'`. */
  SHARED_STORE(storeName: string): BoxStore {
    if (typeof storeName !== 'string' || storeName === '') throw new TypeError(`box '${this.name}': SHARED_STORE(name) needs a non-empty name`);
    let store = this.stores.get(storeName);
    if (!store) this.stores.set(storeName, (store = boxStore(`${this.name}.${storeName}`)));
    return store;
  }

  /** Names of the stores this box opened in this process (for the status page). */
  storeNames(): string[] {
    return [...this.stores.keys()].map((name) => `${this.name}.${name}`);
  }

  /** A room of this box; `push` reaches its members on every API server of the cluster. */
  room(roomName: string): { push(event: string, data?: unknown): void } {
    return {
      push: (event: string, data?: unknown) => pushToRoom({ box: this.name, room: roomName, event, data: data ?? null }),
    };
  }

  hasMethod(method: string): boolean {
    return Object.prototype.hasOwnProperty.call(this.definition.methods ?? {}, method);
  }

  hasRoom(room: string): boolean {
    return roomDefinition(this.definition, room) !== undefined;
  }
}
