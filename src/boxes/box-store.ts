/**
 * The store a box gets from `box.SHARED_STORE('x')`: the cluster-wide SHARED_STORE `'<box>.x'`.
 * The factory is installed by boot() so the boxes layer does not pick the store engine.
 */
import { ConfigError } from '../core/errors.js';
import type { SharedStore } from '../store/index.js';

/** A SHARED_STORE (docs/shared-store.md): `box.SHARED_STORE('x')` is `SHARED_STORE('<box>.x')` (docs/roles-and-boxes.md, "Boxes"). */
export type BoxStore = SharedStore;

let factory: ((name: string) => BoxStore) | undefined;

export function installStoreFactory(next: (name: string) => BoxStore): void {
  factory = next;
}

export function boxStore(name: string): BoxStore {
  if (!factory) throw new ConfigError(`store '${name}' was asked for before boot() installed the store engine; open stores in onBoot or in methods`);
  return factory(name);
}
