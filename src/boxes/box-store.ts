/**
 * The store a box gets from `box.SHARED_STORE('x')`: the cluster-wide SHARED_STORE `'<box>.x'`.
 * The factory is installed by boot() so the boxes layer does not pick the store engine.
 */
import { ConfigError } from '../core/errors.js';

/** The part of SHARED_STORE's API boxes rely on (see DESIGN.md §1). */
export interface BoxStore {
  save(params: { id: string; data: Record<string, unknown>; removeAfterSeconds?: number }): Promise<any>;
  update(params: { id: string; data: Record<string, unknown>; removeAfterSeconds?: number }): Promise<any>;
  get(id: string): Promise<any>;
  remove(id: string): Promise<any>;
  all(filter?: Record<string, unknown>): Promise<Record<string, any>>;
  count(filter?: Record<string, unknown>): Promise<number>;
  onChange(listener: (...args: any[]) => void): unknown;
}

let factory: ((name: string) => BoxStore) | undefined;

export function installStoreFactory(next: (name: string) => BoxStore): void {
  factory = next;
}

export function boxStore(name: string): BoxStore {
  if (!factory) throw new ConfigError(`store '${name}' was asked for before boot() installed the store engine; open stores in onBoot or in methods`);
  return factory(name);
}
