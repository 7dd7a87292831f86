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
