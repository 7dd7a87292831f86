import { EventEmitter } from 'eventemitter3';

/** A handler gets the data and a reply function; its return value (or resolved Promise) is the reply. */
export type Handler<D = any, R = any> = (data: D, reply: (value: R) => void) => R | Promise<R> | void | Promise<void>;

/**
 * Method name → handlers, for one channel. Several handlers may share a method: all run, and the
 * first reply wins. Listeners of `registrations` hear when a method gains its first handler or
 * loses its last, which is what a router needs to know.
 */
export class HandlerRegistry {
  private readonly handlers = new EventEmitter();
  /** eventemitter3 copies its listener array on every `listeners()` call; dispatch is hot, so cache. */
  private readonly cache = new Map<string, Handler[]>();
  readonly registrations = new EventEmitter<{ change: [method: string, present: boolean] }>();

  on(method: string, handler: Handler): void {
    assertMethodName(method);
    if (typeof handler !== 'function') throw new TypeError(`handler for '${method}' must be a function`);
    const first = this.handlers.listenerCount(method) === 0;
    this.handlers.on(method, handler);
    this.cache.delete(method);
    if (first) this.registrations.emit('change', method, true);
  }

  off(method: string, handler?: Handler): void {
    if (this.handlers.listenerCount(method) === 0) return;
    if (handler) this.handlers.off(method, handler);
    else this.handlers.removeAllListeners(method);
    this.cache.delete(method);
    if (this.handlers.listenerCount(method) === 0) this.registrations.emit('change', method, false);
  }

  /** The handlers of a method, in registration order (a shared array: do not modify). */
  get(method: string): readonly Handler[] {
    let handlers = this.cache.get(method);
    if (!handlers) {
      handlers = this.handlers.listeners(method) as Handler[];
      this.cache.set(method, handlers);
    }
    return handlers;
  }

  has(method: string): boolean {
    return this.handlers.listenerCount(method) > 0;
  }

  methods(): string[] {
    return this.handlers.eventNames().map(String);
  }
}

export function assertMethodName(method: unknown): asserts method is string {
  if (typeof method !== 'string' || method.length === 0) {
    throw new TypeError(`methodName must be a non-empty string (got ${typeof method === 'string' ? "''" : typeof method})`);
  }
}
