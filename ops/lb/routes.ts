/**
 * The routing table both load balancer generators are built from: for every path a boxwire
 * server answers, which backend receives it. Exact paths where a role answers exact paths, so a
 * prefix never catches a neighbour (`/__SOCKET_SERVER_HOST` starts like nothing the API serves,
 * and is the front door's).
 *
 *   exact  /__API                        api (WebSocket upgrade)
 *   prefix /__API/                       api (HTTP calls, WebSocket at /__API/)
 *   exact  /__UPLOAD                     upload
 *   regex  /__RF/<box>/<owner>.<random>  that upload server (the file's only holder)
 *   prefix /__RF/                        upload (any; a malformed id is answered there)
 *   everything else                      front door (pages, discovery, client module, health)
 *
 * Health and introspection paths (`/__CHECK_ALIVE`, `/__READY`, `/__VERSION`, `/__STATUS`,
 * `/__CLUSTER`) are answered by every server; through the load balancer they reach the front door.
 */
import type { Role } from '../../src/config/index.js';

// The roles' own constants (api-role.ts, upload-role.ts, download.ts), repeated so the ops CLI
// does not load the roles; test/ops/lb-routing.test.ts checks they agree.
const API_PATH = '/__API';
const UPLOAD_PATH = '/__UPLOAD';
const DOWNLOAD_PREFIX = '/__RF/';

export type RouteMatch = 'exact' | 'prefix';

export interface Route {
  match: RouteMatch;
  path: string;
  role: Role;
  /** WebSocket upgrades pass on this route. */
  webSocket?: boolean;
  /** Request bodies are uploads (size limit, streamed). */
  upload?: boolean;
}

/** Most specific first; the front door takes everything not listed. */
export const ROUTES: readonly Route[] = [
  { match: 'exact', path: API_PATH, role: 'api', webSocket: true },
  { match: 'prefix', path: `${API_PATH}/`, role: 'api', webSocket: true },
  { match: 'exact', path: UPLOAD_PATH, role: 'upload', upload: true },
  { match: 'prefix', path: DOWNLOAD_PREFIX, role: 'upload' },
];

export const DEFAULT_ROLE: Role = 'front-door';

/**
 * A download's owner is in its path (`/__RF/<box>/<server>.<random>`, see file-meta.ts): the
 * pattern (nginx and HAProxy both take PCRE) that sends a file's downloads straight to its owner.
 * Server names are letters, digits, `_` and `-`: nothing to escape.
 */
export function ownerPattern(server: string): string {
  return `^${DOWNLOAD_PREFIX}[^/]+/${server}\\.`;
}

/** The role a path goes to by the table (owner routing aside): what both generated configs do. */
export function roleForPath(path: string): Role {
  for (const route of ROUTES) {
    if (route.match === 'exact' ? path === route.path : path.startsWith(route.path)) return route.role;
  }
  return DEFAULT_ROLE;
}
