/**
 * Client ids: unique across the cluster (a random prefix per process) and cheap (a counter),
 * since the HTTP API makes one per call.
 */
import { randomBytes } from 'node:crypto';

const prefix = randomBytes(6).toString('base64url');
let counter = 0;

export function nextClientId(): string {
  return `${prefix}-${(++counter).toString(36)}`;
}
