export { SHARED_STORE, SharedStore, type SaveParams, type StoreCallback, type StoreOptions } from './shared-store.js';
export { TO_DELETE, type Document } from './documents/update-operators.js';
export { StoreFilterError, StoreLimitError, StoreNotReadyError, StoreOperationError, StoreUnavailableError } from './store-errors.js';
export type { StoreChange, ChangeListener } from './change-events.js';
export type { StoreEngine } from './engines/engine.js';
export type { StoreLimits } from './limits.js';
export type { StoreEngineOptions, StoreEngineName } from './engines/engine-choice.js';
