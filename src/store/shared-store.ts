import { encode } from '../core/codec.js';
import { isUnsafeKey } from '../core/safe-keys.js';
import { ConfigError } from '../core/errors.js';
import { log } from '../core/logger.js';
import type { ChangeListener } from './change-events.js';
import { isPlainObject } from '../core/value-kinds.js';
import { copyValue } from './documents/document-values.js';
import { compileFilter } from './documents/filter.js';
import { StoreNotReadyError } from './store-errors.js';
import { copyAndMeasure } from './documents/document-size.js';
import { checkDocumentSize, configureStoreLimits, storeLimits, type StoreLimits } from './limits.js';
import type { StoreEngine } from './engines/engine.js';
import { closeStoreEngine, startedStoreEngine, storeEngine } from './store-node.js';
import { STORE_ENGINE_KEYS, chooseStoreEngine, chosenStoreEngine, type StoreEngineOptions } from './engines/engine-choice.js';
import { validateUpdateData, type Document } from './documents/update-operators.js';
import type { WriteRequest, WriteResult } from './workers/write-request.js';

/** UPPERCASE's handler forms: a callback, or `{ success, notExists, error }`. */
export type StoreCallback<T> = ((value: T) => void) | { success?: (value: T) => void; notExists?: () => void; error?: (error: Error) => void };

export interface SaveParams<D extends Document = Document> {
  id: string;
  data: D;
  removeAfterSeconds?: number;
}

export interface StoreOptions {
  /** Most entries this store may hold (default: the process limit, 1,000,000). */
  maxEntries?: number;
}

const NAME = /^[A-Za-z0-9_$-]+(\.[A-Za-z0-9_$-]+)*$/;

/**
 * A named store, replicated to every process of the cluster. Every method returns a Promise and
 * also takes UPPERCASE's callback (or `{ success, notExists, error }`) as its last argument.
 */
export class SharedStore<D extends Document = Document> {
  /** This process's engine, once known (it never changes within a process). */
  private engine?: StoreEngine;

  constructor(readonly name: string, private readonly options: StoreOptions = {}) {}

  /** Replaces the document (and its expiry). Resolves to the saved document. */
  save(params: SaveParams<D>, callback?: StoreCallback<D>): Promise<D | undefined> {
    return this.run(callback, () => {
      const request = this.wholeDocument('save', params);
      const copy = request.data!;
      // The saved document is the data itself (a later write in the same tick may already have
      // changed the stored one). A worker only sent the copy away, so it can hand that copy out.
      return this.write(request).then(() => (storeEngine().keepsWrittenData ? copyValue(copy) : copy) as D);
    });
  }

  /** The write of a whole document (`save`, `create`), its data checked and copied. */
  private wholeDocument(kind: 'save' | 'create', params: SaveParams<D>): WriteRequest {
    const id = checkId(params?.id);
    if (!isPlainObject(params.data)) throw new TypeError(`${kind}: data must be a plain object, got ${params.data === null ? 'null' : Array.isArray(params.data) ? 'an array' : typeof params.data}`);
    // One walk copies the data (the caller may change it right after this call), refuses what
    // msgpack cannot carry and bounds its size; the exact encode runs only near the limit.
    const { copy, maxBytes } = copyAndMeasure(params.data);
    if (maxBytes > storeLimits().maxDocumentBytes) checkDocumentSize(this.name, id, encode(copy).length);
    return { store: this.name, kind, id, data: copy, removeAfterSeconds: checkTtl(params.removeAfterSeconds), maxEntries: this.options.maxEntries };
  }

  /**
   * Inserts the document only if none exists for that id — the way to initialise data (e.g. in a
   * box's `onBoot`) that must never overwrite what the cluster already holds. Decided at the
   * create's place in the replicated total order, the same way on every replica: of several
   * concurrent creates of one id (from any servers), the first in that order wins and the others
   * change nothing; a create ordered after a `remove` inserts again. Resolves to the document
   * there afterwards: the new one, or the one that was already there (`undefined` only if a later
   * write removed it meanwhile). It answers once every connected server has been heard from past
   * it (a few hundred ms in a cluster; at once without one).
   */
  create(params: SaveParams<D>, callback?: StoreCallback<D>): Promise<D | undefined> {
    return this.run(callback, () => this.write(this.wholeDocument('create', params)).then((result) => result.document as D | undefined));
  }

  /**
   * Merges fields and applies `$inc`, `$push`, `$addToSet`, `$pull`, `TO_DELETE`. Resolves to the
   * updated document, or undefined (and `notExists`) when the id is missing. Without
   * `removeAfterSeconds` an existing expiry is kept; with it the expiry restarts.
   */
  update(params: SaveParams<Partial<D> & Document>, callback?: StoreCallback<D>): Promise<D | undefined> {
    return this.run(callback, () => {
      const id = checkId(params?.id);
      // As in save: one walk copies and refuses what msgpack cannot carry; values the walk cannot
      // judge are encoded once to make sure.
      const { copy, maxBytes } = copyAndMeasure(params.data);
      if (!Number.isFinite(maxBytes)) encode(copy);
      validateUpdateData(copy);
      const request: WriteRequest = { store: this.name, kind: 'update', id, data: copy, removeAfterSeconds: checkTtl(params.removeAfterSeconds) };
      return this.write(request).then((result) => {
        if (result.outcome === 'notExists') return undefined;
        return (result.document ?? storeEngine().get(this.name, id)) as D | undefined;
      });
    });
  }

  /** Resolves to a copy of the document, or undefined (and `notExists`). */
  get(id: string, callback?: StoreCallback<D>): Promise<D | undefined> {
    if (!callback && typeof id === 'string' && id.length > 0) {
      // Hot path: a ready local replica answers without an async function or extra awaits.
      const engine = storeEngine();
      if (!engine.whenReadable(this.name)) {
        const found = engine.get(this.name, id);
        return found instanceof Promise ? (found as Promise<D | undefined>) : Promise.resolve(found as D | undefined);
      }
    }
    return this.run(callback, async () => {
      checkId(id);
      const engine = storeEngine();
      await engine.whenReadable(this.name);
      return (await engine.get(this.name, id)) as D | undefined;
    });
  }

  /**
   * The document, synchronously, from this process's replica: the stored object itself, frozen
   * (read-only), not a copy — the fastest read there is. Use `get` for a copy you may change.
   * Throws StoreNotReadyError while this process's replica is not ready (a worker loading its
   * snapshot, a restarted server catching up): `await store.ready()` once first.
   */
  peek(id: string): Readonly<D> | undefined {
    const engine = (this.engine ??= storeEngine());
    if (engine.whenReadable(this.name)) {
      throw new StoreNotReadyError(`SHARED_STORE('${this.name}').peek(): this process's replica is not ready yet (a worker loading its snapshot, a server catching up with its peers, or the Redis engine loading the store on its first read); await store.ready() once before peeking`);
    }
    return engine.peek(this.name, checkId(id)) as Readonly<D> | undefined;
  }

  /**
   * Resolves once this process can serve reads of this store (a worker loaded it; a server caught
   * up). A worker loads a store on its first read, so `ready()` is also how to load it ahead.
   */
  ready(): Promise<void> {
    return storeEngine().whenReadable(this.name) ?? Promise.resolve();
  }

  /** Removes the document; resolves to it, or undefined (and `notExists`). */
  remove(id: string, callback?: StoreCallback<D>): Promise<D | undefined> {
    return this.run(callback, () => this.write({ store: this.name, kind: 'remove', id: checkId(id) }).then((result) => (result.outcome === 'applied' ? (result.removed as D) : undefined)));
  }

  /** `{ [id]: document }` for every live entry matching the filter (MongoDB query language). */
  all(filterOrCallback?: object | StoreCallback<Record<string, D>>, callback?: StoreCallback<Record<string, D>>): Promise<Record<string, D> | undefined> {
    const [filter, cb] = splitFilter(filterOrCallback, callback);
    return this.run(cb, async () => {
      const test = compileFilter(filter);
      const engine = storeEngine();
      await engine.whenReadable(this.name);
      return Object.fromEntries(await engine.entries(this.name, filter ? test : undefined)) as Record<string, D>;
    }, false);
  }

  count(filterOrCallback?: object | StoreCallback<number>, callback?: StoreCallback<number>): Promise<number | undefined> {
    const [filter, cb] = splitFilter(filterOrCallback, callback);
    return this.run(cb, async () => {
      const test = compileFilter(filter);
      const engine = storeEngine();
      await engine.whenReadable(this.name);
      return engine.count(this.name, filter ? test : undefined);
    }, false);
  }

  /** True when the id (a string) or any document matching the filter (an object) exists. */
  checkExists(idOrFilter: string | object, callback?: StoreCallback<boolean>): Promise<boolean | undefined> {
    return this.run(callback, async () => {
      const engine = storeEngine();
      await engine.whenReadable(this.name);
      if (typeof idOrFilter === 'string') return (await engine.get(this.name, checkId(idOrFilter))) !== undefined;
      return (await engine.count(this.name, compileFilter(idOrFilter))) > 0;
    }, false);
  }

  /** Removes every entry of this store, everywhere. */
  clear(callback?: StoreCallback<void>): Promise<void> {
    return this.run(callback, () => this.write({ store: this.name, kind: 'clear' }).then(() => undefined), false) as Promise<void>;
  }

  /** Hears every change this process applies to this store. Returns an unsubscribe function. */
  onChange(listener: ChangeListener): () => void {
    if (typeof listener !== 'function') throw new TypeError('onChange(listener): listener must be a function');
    return storeEngine().onChange(this.name, listener);
  }

  private write(request: WriteRequest): Promise<WriteResult> {
    const engine = storeEngine();
    const waiting = engine.whenWritable();
    return waiting ? waiting.then(() => engine.write(request)) : engine.write(request);
  }

  /**
   * Promise and callback in one: with a callback, the value goes to it (`undefined` goes to
   * `notExists` when given), errors go to `error` when given or are logged, and the Promise
   * never rejects — UPPERCASE code does not handle Promises.
   */
  private run<T>(callback: StoreCallback<T> | undefined, body: () => Promise<T | undefined>, undefinedMeansNotExists = true): Promise<T | undefined> {
    let promise: Promise<T | undefined>;
    try {
      promise = body();
    } catch (error) {
      promise = Promise.reject(error);
    }
    if (!callback) return promise;
    const handlers = typeof callback === 'function' ? { success: callback } : callback;
    return promise.then(
      (value) => {
        if (value === undefined && undefinedMeansNotExists && handlers.notExists) handlers.notExists();
        else handlers.success?.(value as T);
        return value;
      },
      (error: Error) => {
        if (handlers.error) handlers.error(error);
        else log.error('store.call_failed', { store: this.name, error });
        return undefined;
      },
    );
  }
}

function checkId(id: unknown): string {
  if (typeof id !== 'string' || id.length === 0) throw new TypeError(`a store id must be a non-empty string, got ${typeof id === 'string' ? "''" : typeof id}`);
  return id;
}

function checkTtl(seconds: unknown): number | undefined {
  if (seconds === undefined) return undefined;
  if (typeof seconds !== 'number' || !(seconds > 0) || !Number.isFinite(seconds)) throw new TypeError(`removeAfterSeconds must be a positive number of seconds, got ${String(seconds)}`);
  return seconds;
}

function splitFilter<T>(a: object | StoreCallback<T> | undefined, b: StoreCallback<T> | undefined): [object | undefined, StoreCallback<T> | undefined] {
  if (typeof a === 'function') return [undefined, a as StoreCallback<T>];
  if (a && !b && isHandlerObject(a)) return [undefined, a as StoreCallback<T>];
  return [a as object | undefined, b];
}

function isHandlerObject(value: object): boolean {
  const keys = Object.keys(value);
  return keys.length > 0 && keys.every((k) => (k === 'success' || k === 'notExists' || k === 'error') && typeof (value as Record<string, unknown>)[k] === 'function');
}

const stores = new Map<string, SharedStore<any>>();

/**
 * `SHARED_STORE(name)`: the store with that name (dotted names such as `'box.sessions'` are
 * fine). The same name gives the same store in every process of the cluster.
 */
function openStore<D extends Document = Document>(name: string, options?: StoreOptions): SharedStore<D> {
  if (typeof name !== 'string' || !NAME.test(name) || isUnsafeKey(name)) {
    throw new ConfigError(`SHARED_STORE(name): '${String(name)}' is not a valid store name (letters, digits, _ $ -, dot-separated; no segment __proto__, prototype or constructor)`);
  }
  if (options?.maxEntries !== undefined && !(Number.isInteger(options.maxEntries) && options.maxEntries > 0)) {
    throw new ConfigError(`SHARED_STORE('${name}', { maxEntries }): maxEntries must be a positive integer`);
  }
  let store = stores.get(name);
  if (!store || options) stores.set(name, (store = new SharedStore<D>(name, options ?? {})));
  return store as SharedStore<D>;
}

export const SHARED_STORE = Object.assign(openStore, {
  /**
   * Sets this process's store limits (see docs/shared-store.md, "Limits") and, before the first store call, its
   * engine: `SHARED_STORE.configure({ engine: 'redis', redis: 'redis://127.0.0.1:6379' })`
   * (see docs/store-redis.md). Run it in every process (top level of the app file does that).
   */
  configure(options: Partial<StoreLimits> & StoreEngineOptions): void {
    const limits: Record<string, unknown> = { ...options };
    const engineOptions: Record<string, unknown> = {};
    for (const key of STORE_ENGINE_KEYS) {
      if (key in limits) engineOptions[key] = limits[key];
      delete limits[key];
    }
    if (Object.keys(engineOptions).length) {
      const started = startedStoreEngine();
      if (started && (engineOptions.engine ?? chosenStoreEngine().engine) !== started.kind) {
        throw new ConfigError(`SHARED_STORE.configure({ engine }): this process already uses the '${started.kind}' engine (a store was used first); configure the engine before the first store call`);
      }
      chooseStoreEngine(engineOptions as StoreEngineOptions);
    }
    configureStoreLimits(limits as Partial<StoreLimits>);
  },

  /**
   * Closes this process's Redis connections (Redis engine), so a script can end; store calls
   * after it fail with StoreUnavailableError. Nothing to close on the in-memory engine.
   */
  close(): void {
    closeStoreEngine();
  },
});
