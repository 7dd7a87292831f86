/**
 * `GET /__METRICS` on every server: the Prometheus text format, aggregated over the server's
 * master and workers (cluster-scrape.ts). `BOXWIRE_METRICS=off` turns it off (404);
 * `BOXWIRE_METRICS_TOKEN` makes it answer only `Authorization: Bearer <token>` (the figures name
 * servers, boxes and methods: keep them off the public internet, by the load balancer or this).
 */
import { timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { log } from '../core/logger.js';
import { sendError } from '../roles/http/http-reply.js';
import { METRICS_CONTENT_TYPE, scrapeServerMetrics } from './cluster-scrape.js';
import { metricsEnabled } from './metrics-enabled.js';

export const METRICS_PATH = '/__METRICS';


export function handleMetrics(req: IncomingMessage, res: ServerResponse): void {
  if (!metricsEnabled()) return sendError(res, 404, 'NOT_FOUND', 'metrics are turned off on this server (BOXWIRE_METRICS=off)');
  if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'METHOD_NOT_ALLOWED', `read ${METRICS_PATH} with GET`);
  const token = process.env.BOXWIRE_METRICS_TOKEN;
  if (token && !bearerMatches(req.headers.authorization, token)) {
    res.setHeader('WWW-Authenticate', 'Bearer realm="boxwire metrics"');
    return sendError(res, 401, 'UNAUTHENTICATED', `${METRICS_PATH} needs Authorization: Bearer <BOXWIRE_METRICS_TOKEN>`);
  }
  scrapeServerMetrics().then(
    (text) => {
      res.writeHead(200, { 'Content-Type': METRICS_CONTENT_TYPE, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
      res.end(req.method === 'HEAD' ? undefined : text);
    },
    (error) => {
      log.warn('metrics.scrape_failed', { error });
      sendError(res, 503, 'METRICS_UNAVAILABLE', `this server's metrics could not be gathered: ${(error as Error).message}`);
    },
  );
}

function bearerMatches(header: string | undefined, token: string): boolean {
  const given = Buffer.from(header?.startsWith('Bearer ') ? header.slice(7).trim() : '');
  const expected = Buffer.from(token);
  return given.length === expected.length && timingSafeEqual(given, expected);
}
