/**
 * The front door: the default box's `index.html` and static files at `/`, other boxes' static
 * files at `/<box>/…`, and the discovery answers that send clients to live servers.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { getBox } from '../../boxes/box-registry.js';
import type { Box } from '../../boxes/box.js';
import { handleDiscovery } from './discovery.js';
import { serveStatic } from '../files/static-files.js';

export class FrontDoor {
  constructor(private readonly defaultBox: string | undefined) {}

  /** Discovery is synchronous; static files are not, so this resolves to whether it answered. */
  async handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): Promise<boolean> {
    if (handleDiscovery(req, res, url)) return true;
    const [first, ...rest] = url.pathname.split('/').slice(1);
    const named = first ? getBox(first) : undefined;
    if (named && named.name !== this.defaultBox) return serveStatic(req, res, staticRoot(named), '/' + rest.join('/'));
    const box = this.defaultBox ? getBox(this.defaultBox) : undefined;
    return box ? serveStatic(req, res, staticRoot(box), url.pathname) : false;
  }
}

function staticRoot(box: Box): string {
  return join(box.dir, box.definition.static ?? 'static');
}
