import { log } from '../core/logger.js';

export type ShutdownHook = () => unknown | Promise<unknown>;

/** Hooks run in reverse order of registration (like a stack of resources), each error logged. */
class HookList {
  private readonly hooks: ShutdownHook[] = [];

  constructor(private readonly apiName: string) {}

  add(hook: ShutdownHook): () => void {
    if (typeof hook !== 'function') throw new TypeError(`${this.apiName}(hook): hook must be a function`);
    this.hooks.push(hook);
    return () => {
      const index = this.hooks.indexOf(hook);
      if (index >= 0) this.hooks.splice(index, 1);
    };
  }

  async run(): Promise<void> {
    for (const hook of [...this.hooks].reverse()) {
      try {
        await hook();
      } catch (error) {
        log.error('shutdown.hook_failed', { error });
      }
    }
  }
}

const shutdownHooks = new HookList('onShutdown');
const stopAcceptingHooks = new HookList('onStopAccepting');

/** Registers code to run when this process stops gracefully. Returns an unregister function. */
export function onShutdown(hook: ShutdownHook): () => void {
  return shutdownHooks.add(hook);
}

export function runShutdownHooks(): Promise<void> {
  return shutdownHooks.run();
}

/**
 * Registers code to run when a graceful stop *begins*, before the worker waits for its servers'
 * connections to end: close long-lived connections (WebSockets) here, or the stop waits for
 * them until the grace period kills the process. Returns an unregister function.
 */
export function onStopAccepting(hook: ShutdownHook): () => void {
  return stopAcceptingHooks.add(hook);
}

export function runStopAcceptingHooks(): Promise<void> {
  return stopAcceptingHooks.run();
}
