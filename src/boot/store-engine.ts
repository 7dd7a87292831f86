/**
 * Connects `box.SHARED_STORE(…)` (and the upload index) to the store engine: SHARED_STORE from
 * src/store — the in-memory replicated engine by default, or Redis when the cluster config says
 * `"store": { "engine": "redis" }` (each process of the server reads the config and chooses it).
 */
import { installStoreFactory } from '../boxes/box-store.js';
import { SHARED_STORE } from '../store/index.js';
import type { ClusterConfig } from '../config/index.js';

export async function installStoreEngine(config?: ClusterConfig): Promise<void> {
  if (config?.store?.engine) SHARED_STORE.configure({ engine: config.store.engine });
  installStoreFactory((name) => SHARED_STORE(name));
}
