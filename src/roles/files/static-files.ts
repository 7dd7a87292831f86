/**
 * Serves files from one folder (a box's `static` folder): GET/HEAD, Content-Type from the
 * mime-types table, ETag/Last-Modified revalidation, `index.html` for directories. A request
 * path can never leave the folder: it is decoded, normalized and checked against the root.
 */
import { createReadStream, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join, normalize, resolve, sep } from 'node:path';
import { lazyModule } from '../../core/lazy-module.js';

/** mime-types (and its database) loaded on the first file served. */
const mimeTypes = lazyModule<typeof import('mime-types')>('mime-types');

/** Resolves a URL path inside `root`, or undefined when it would escape it or is malformed. */
export function resolveInside(root: string, urlPath: string): string | undefined {
  let decoded: string;
  try {
    decoded = decodeURIComponent(urlPath);
  } catch {
    return undefined;
  }
  if (decoded.includes('\0')) return undefined;
  const base = resolve(root);
  const full = resolve(base, '.' + sep + normalize(decoded).replace(/^([/\\])+/, ''));
  return full === base || full.startsWith(base + sep) ? full : undefined;
}

export function typeOf(path: string): string {
  return mimeTypes().contentType(path.split(/[\\/]/).pop() ?? '') || 'application/octet-stream';
}

/** Serves `urlPath` from `root`; returns false (nothing sent) when there is no such file. */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, root: string, urlPath: string): Promise<boolean> {
  if (req.method !== 'GET' && req.method !== 'HEAD') return false;
  let file = resolveInside(root, urlPath);
  if (!file) return false;
  let stat = await fs.stat(file).catch(() => undefined);
  if (stat?.isDirectory()) {
    file = join(file, 'index.html');
    stat = await fs.stat(file).catch(() => undefined);
  }
  if (!stat?.isFile()) return false;
  const etag = `W/"${stat.size.toString(16)}-${Math.floor(stat.mtimeMs).toString(16)}"`;
  const headers = {
    'Content-Type': typeOf(file),
    'Last-Modified': stat.mtime.toUTCString(),
    ETag: etag,
    // Revalidate every time: boxes are edited live during development and ETags make it cheap.
    'Cache-Control': 'no-cache',
  };
  if (req.headers['if-none-match'] === etag) {
    res.writeHead(304, headers).end();
    return true;
  }
  res.writeHead(200, { ...headers, 'Content-Length': stat.size });
  if (req.method === 'HEAD') {
    res.end();
    return true;
  }
  createReadStream(file).on('error', () => res.destroy()).pipe(res);
  return true;
}
