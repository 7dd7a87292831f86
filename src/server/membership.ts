import { log } from '../core/logger.js';

export type ServerListener = (serverName: string) => void;

/**
 * Which servers this process sees connected, and who wants to hear about changes. The process
 * that owns the links feeds it from the mesh; workers from their master's notices. Changes are
 * idempotent: a server already up is not announced twice.
 */
export class Membership {
  private readonly connected = new Set<string>();
  private readonly upListeners = new Set<ServerListener>();
  private readonly downListeners = new Set<ServerListener>();

  connectedNames(): string[] {
    return [...this.connected].sort();
  }

  isConnected(name: string): boolean {
    return this.connected.has(name);
  }

  onUp(listener: ServerListener): () => void {
    return subscribe(this.upListeners, listener, 'onServerUp');
  }

  /**
   * As onUp, and also hears (right after this call) every server already connected: links open
   * before user code runs, so a listener registered in work() would otherwise miss them.
   */
  onUpIncludingCurrent(listener: ServerListener): () => void {
    const unsubscribe = this.onUp(listener);
    const current = this.connectedNames();
    let subscribed = true;
    queueMicrotask(() => {
      for (const name of current) {
        if (!subscribed || !this.connected.has(name)) continue;
        try {
          listener(name);
        } catch (error) {
          log.error('server.up_listener_failed', { server: name, error });
        }
      }
    });
    return () => {
      subscribed = false;
      unsubscribe();
    };
  }

  onDown(listener: ServerListener): () => void {
    return subscribe(this.downListeners, listener, 'onServerDown');
  }

  markUp(name: string): void {
    if (this.connected.has(name)) return;
    this.connected.add(name);
    notify(this.upListeners, name, 'server.up_listener_failed');
  }

  markDown(name: string): void {
    if (!this.connected.delete(name)) return;
    notify(this.downListeners, name, 'server.down_listener_failed');
  }

  /** Replaces the whole view (a worker joining learns the current state from its master). */
  reset(names: string[]): void {
    for (const name of this.connectedNames()) if (!names.includes(name)) this.markDown(name);
    for (const name of names) this.markUp(name);
  }
}

function subscribe(set: Set<ServerListener>, listener: ServerListener, what: string): () => void {
  if (typeof listener !== 'function') throw new TypeError(`${what}(listener): listener must be a function`);
  const wrapped: ServerListener = (name) => listener(name); // the same function may subscribe twice
  set.add(wrapped);
  return () => void set.delete(wrapped);
}

function notify(set: Set<ServerListener>, name: string, event: string): void {
  for (const listener of [...set]) {
    try {
      listener(name);
    } catch (error) {
      log.error(event, { server: name, error });
    }
  }
}
