/**
 * `import 'boxwire/global'` installs UPPERCASE-style globals (CPU_CLUSTERING, …) for code
 * written in UPPERCASE's style. Nothing is global unless this module is imported.
 */
import * as boxwire from './index.js';

const names = ['CPU_CLUSTERING', 'MASTER', 'onShutdown', 'SHARED_STORE', 'TO_DELETE', 'SERVER_CLUSTERING', 'DISTRIBUTE_PROCESS', 'LOCK', 'QUEUE', 'UNIQUE_ID', 'LockBusyError'] as const;
for (const name of names) {
  Object.defineProperty(globalThis, name, { value: boxwire[name], configurable: true, writable: false });
}

declare global {
  var CPU_CLUSTERING: typeof boxwire.CPU_CLUSTERING;
  var MASTER: typeof boxwire.MASTER;
  var onShutdown: typeof boxwire.onShutdown;
  var SERVER_CLUSTERING: typeof boxwire.SERVER_CLUSTERING;
  var DISTRIBUTE_PROCESS: typeof boxwire.DISTRIBUTE_PROCESS;
  var SHARED_STORE: typeof boxwire.SHARED_STORE;
  var TO_DELETE: typeof boxwire.TO_DELETE;
  var LOCK: typeof boxwire.LOCK;
  var QUEUE: typeof boxwire.QUEUE;
  var UNIQUE_ID: typeof boxwire.UNIQUE_ID;
  var LockBusyError: typeof boxwire.LockBusyError;
}
