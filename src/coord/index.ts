export { LOCK, type LockOptions, type Lease } from './lock.js';
export { QUEUE, Queue, type JobInfo, type JobHandler, type QueueCounts, type FailedJob, type PushOptions, type ProcessOptions } from './queue.js';
export { UNIQUE_ID } from './unique-id.js';
export { LockBusyError, LockLostError, UniqueIdUnavailableError } from './coord-errors.js';
export { closeCoordination } from './backend-choice.js';
