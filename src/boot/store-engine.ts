/**
 * Connects `box.SHARED_STORE(…)` (and the upload index) to the store engine: SHARED_STORE from
 * src/store, replicated to every process of the cluster.
 */
import { installStoreFactory, type BoxStore } from '../boxes/box-store.js';

export async function installStoreEngine(): Promise<void> {
  // Resolved at run time: src/store lands separately (issue 4) and keeps its own public face.
  const specifier = '../store/index.js';
  const store = (await import(specifier)) as { SHARED_STORE: (name: string) => BoxStore };
  installStoreFactory((name) => store.SHARED_STORE(name));
}
