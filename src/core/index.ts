export * from './errors.js';
export { MASTER } from './envelope.js';
export type { Handler } from './registry.js';
export { encode, decode } from './codec.js';
export { createLogger, type Logger } from './logger.js';
