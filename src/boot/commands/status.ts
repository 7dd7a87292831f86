import type { Command } from '../cli.js';

export const statusCommand: Command = {
  summary: 'show the live topology',
  run() {
    console.error('boxwire status: not available yet (the server roles land with the roles issue). Use CPU_CLUSTERING / SERVER_CLUSTERING from code.');
    return 1;
  },
};
