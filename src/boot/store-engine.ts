/**
 * Connects `box.SHARED_STORE(…)` (and the upload index) to the store engine: SHARED_STORE from
 * src/store, replicated to every process of the cluster (in memory; no external service).
 */
import { installStoreFactory } from '../boxes/box-store.js';
import { SHARED_STORE } from '../store/index.js';

export async function installStoreEngine(): Promise<void> {
  installStoreFactory((name) => SHARED_STORE(name));
}
