// The public face of CPU_CLUSTERING (re-exported by the package, see src/index.ts).
export { CPU_CLUSTERING, type CpuClusteringOptions, type ReplyCallback, type SendParams } from './cpu-clustering.js';
export { onShutdown } from './shutdown-hooks.js';
export { resolveWorkerCount } from './worker-count.js';

// The one door for the layers above (server/, store/, roles/, boot/, …) to "this process": its
// endpoint (the process contract is `Endpoint`, core/endpoint.ts), its role, its start/stop
// state. Nothing outside src/cpu/ names a cpu class (Master, WorkerRuntime, SoloRuntime).
export { currentEndpoint, processRole, sharedRegistries } from './runtime.js';
export { isForkedWorker } from './forked-worker.js';
export { sendTo } from './cpu-clustering.js';
export { configErrorMessage, stopOnConfigError } from './config-failure.js';
export { onStopAccepting } from './shutdown-hooks.js';
export { onServerState, serverState, setDrainer, type ServerState } from './lifecycle.js';
