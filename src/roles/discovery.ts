/**
 * Where should a client go? `/__WEB_SERVER_HOST` (front door), `/__SOCKET_SERVER_HOST` (API),
 * `/__UPLOAD_SERVER_HOST` (upload) answer one `host:port` as text, chosen among the *live*
 * servers of that role, least loaded first; `/__WEB_SERVER_HOSTS` answers every live front
 * door as a JSON array. All support JSONP (`?callback=name`). No live server → 503.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Role } from '../boot/config.js';
import { sendError, sendJson, sendMaybeJsonp, sendText } from './http-reply.js';
import { hostPort, liveServersWithRole } from './topology.js';

const SINGLE: Record<string, Role> = {
  '/__WEB_SERVER_HOST': 'front-door',
  '/__SOCKET_SERVER_HOST': 'api',
  '/__UPLOAD_SERVER_HOST': 'upload',
};

export function handleDiscovery(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
  const role = SINGLE[url.pathname];
  if (role) {
    const [best] = liveServersWithRole(role);
    if (!best) {
      sendError(res, 503, 'NO_LIVE_SERVER', `no live server holds the ${role} role right now; try again shortly`);
      return true;
    }
    const value = hostPort(best);
    sendMaybeJsonp(req, res, url, value, () => sendText(res, 200, value));
    return true;
  }
  if (url.pathname === '/__WEB_SERVER_HOSTS') {
    const hosts = liveServersWithRole('front-door').map(hostPort);
    sendMaybeJsonp(req, res, url, hosts, () => sendJson(res, 200, hosts));
    return true;
  }
  return false;
}
