import type { Command } from '../cli.js';

export const startCommand: Command = {
  summary: 'start one server of a cluster',
  run() {
    console.error('boxwire start: not available yet (the server roles land with the roles issue). Use CPU_CLUSTERING / SERVER_CLUSTERING from code.');
    return 1;
  },
};
