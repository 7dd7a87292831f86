/**
 * Where should a client go? `/__WEB_SERVER_HOST` (front door), `/__SOCKET_SERVER_HOST` (API),
 * `/__UPLOAD_SERVER_HOST` (upload) answer one `host:port` as text, chosen among the *live*
 * servers of that role, spread by spare capacity (see spread.ts); `/__WEB_SERVER_HOSTS` answers
 * every live front door as a JSON array. All support JSONP (`?callback=name`). No live server → 503.
 *
 * Behind a load balancer (config `publicUrl`, or a request from one of `trustedProxies`), every
 * answer is the public address instead: the browser cannot reach the servers' own addresses,
 * and the load balancer does the spreading (see public-address.ts).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Role } from '../../config/index.js';
import { sendError, sendJson, sendMaybeJsonp, sendText } from '../http/http-reply.js';
import { publicOriginOf } from './public-address.js';
import { pickServer } from './spread.js';
import { hostPort, liveServersWithRole, topology } from './topology.js';

const SINGLE: Record<string, Role> = {
  '/__WEB_SERVER_HOST': 'front-door',
  '/__SOCKET_SERVER_HOST': 'api',
  '/__UPLOAD_SERVER_HOST': 'upload',
};
const ALL_FRONT_DOORS = '/__WEB_SERVER_HOSTS';

/** Every path discovery answers (the front door's). */
export const DISCOVERY_PATHS: readonly string[] = [...Object.keys(SINGLE), ALL_FRONT_DOORS];

export function handleDiscovery(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
  const role = SINGLE[url.pathname];
  if (role || url.pathname === ALL_FRONT_DOORS) {
    // How old the view behind this answer is (the master's clock, ms since epoch): for operators and tests.
    const at = topology()?.at;
    if (at !== undefined) res.setHeader('X-Boxwire-View-At', String(at));
  }
  if (role) {
    const publicHost = publicOriginOf(req)?.host;
    const chosen = publicHost ?? (() => {
      const server = pickServer(role);
      return server && hostPort(server);
    })();
    if (!chosen) {
      sendError(res, 503, 'NO_LIVE_SERVER', `no live server holds the ${role} role right now; try again shortly`);
      return true;
    }
    sendMaybeJsonp(req, res, url, chosen, () => sendText(res, 200, chosen));
    return true;
  }
  if (url.pathname === ALL_FRONT_DOORS) {
    const publicHost = publicOriginOf(req)?.host;
    const hosts = publicHost ? [publicHost] : liveServersWithRole('front-door').map(hostPort);
    sendMaybeJsonp(req, res, url, hosts, () => sendJson(res, 200, hosts));
    return true;
  }
  return false;
}
