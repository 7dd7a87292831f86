/**
 * Health and introspection, served by every server: `/__CHECK_ALIVE` (load balancers),
 * `/__VERSION`, `/__STATUS` (JSON) and `/__CLUSTER` (a page that polls `/__STATUS`).
 */
import { readFileSync } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { log } from '../core/logger.js';
import { sendError, sendJson, sendText } from './http-reply.js';
import { requestClusterStatus } from './status.js';

export const VERSION: string = createRequire(import.meta.url)('../../package.json').version;
const clusterPage = readFileSync(join(import.meta.dirname, 'client', 'cluster.html'), 'utf8');

export function handleHealth(req: IncomingMessage, res: ServerResponse, url: URL, serverName: string): boolean {
  switch (url.pathname) {
    case '/__CHECK_ALIVE':
      sendText(res, 200, 'ok');
      return true;
    case '/__VERSION':
      sendJson(res, 200, { boxwire: VERSION, node: process.version, server: serverName });
      return true;
    case '/__STATUS':
      requestClusterStatus().then(
        (status) => sendJson(res, 200, status),
        (error) => {
          log.warn('status.failed', { error });
          sendError(res, 503, 'STATUS_UNAVAILABLE', `the cluster view is not available: ${(error as Error).message}`);
        },
      );
      return true;
    case '/__CLUSTER':
      sendText(res, 200, clusterPage, 'text/html; charset=utf-8');
      return true;
    default:
      void req;
      return false;
  }
}
