export * from './core/index.js';
export * from './cpu/index.js';
