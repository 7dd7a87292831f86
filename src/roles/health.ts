/**
 * Health and introspection, served by every server: `/__CHECK_ALIVE` (liveness), `/__READY`
 * (readiness: 503 while starting, draining, stopping — see readiness.ts),
 * `/__VERSION`, `/__STATUS` (JSON) and `/__CLUSTER` (a page that polls `/__STATUS`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createRequire } from 'node:module';
import { log } from '../core/logger.js';
import { readClientAsset } from './client-assets.js';
import { sendError, sendJson, sendText } from './http-reply.js';
import { handleReady, READY_PATH } from './readiness.js';
import { requestClusterStatus } from './status.js';

/** From the package's package.json: two folders up from src/roles, three from dist/src/roles. */
export const VERSION: string = (() => {
  const require = createRequire(import.meta.url);
  for (const path of ['../../package.json', '../../../package.json']) {
    try {
      const pkg = require(path) as { name?: string; version?: string };
      if (pkg.name === 'boxwire' && pkg.version) return pkg.version;
    } catch {
      // not at this level
    }
  }
  return '0.0.0';
})();
const clusterPage = readClientAsset('cluster.html');

export function handleHealth(req: IncomingMessage, res: ServerResponse, url: URL, serverName: string): boolean {
  switch (url.pathname) {
    case READY_PATH:
      handleReady(req, res);
      return true;
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
