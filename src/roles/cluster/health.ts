/**
 * Health and introspection, served by every server: `/__CHECK_ALIVE` (liveness), `/__READY`
 * (readiness: 503 while starting, draining, stopping — see readiness.ts),
 * `/__VERSION`, `/__STATUS` (JSON) and `/__CLUSTER` (a page that polls `/__STATUS`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { packageInfo } from '../../config/index.js';
import { log } from '../../core/logger.js';
import { readClientAsset } from '../api/client-assets.js';
import { sendError, sendJson, sendText } from '../http/http-reply.js';
import { handleReady, READY_PATH } from './readiness.js';
import { requestClusterStatus } from './status.js';

/** boxwire's version, from its own package.json (found the one way: packageInfo). */
export const VERSION: string = packageInfo().version;
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
