import { log } from '../core/logger.js';

export type ShutdownHook = () => unknown | Promise<unknown>;

const hooks: ShutdownHook[] = [];

/** Registers code to run when this process stops gracefully. Returns an unregister function. */
export function onShutdown(hook: ShutdownHook): () => void {
  if (typeof hook !== 'function') throw new TypeError('onShutdown(hook): hook must be a function');
  hooks.push(hook);
  return () => {
    const index = hooks.indexOf(hook);
    if (index >= 0) hooks.splice(index, 1);
  };
}

/** Runs every hook (last registered first, like a stack of resources), each error logged. */
export async function runShutdownHooks(): Promise<void> {
  for (const hook of [...hooks].reverse()) {
    try {
      await hook();
    } catch (error) {
      log.error('shutdown.hook_failed', { error });
    }
  }
}

const drainHooks: ShutdownHook[] = [];

/**
 * Registers code to run when a graceful stop *begins*, before the worker waits for its servers'
 * connections to end: close long-lived connections (WebSockets) here, or the stop waits for
 * them until the grace period kills the process. Returns an unregister function.
 */
export function onStopAccepting(hook: ShutdownHook): () => void {
  if (typeof hook !== 'function') throw new TypeError('onStopAccepting(hook): hook must be a function');
  drainHooks.push(hook);
  return () => {
    const index = drainHooks.indexOf(hook);
    if (index >= 0) drainHooks.splice(index, 1);
  };
}

export async function runStopAcceptingHooks(): Promise<void> {
  for (const hook of [...drainHooks].reverse()) {
    try {
      await hook();
    } catch (error) {
      log.error('shutdown.hook_failed', { error });
    }
  }
}
