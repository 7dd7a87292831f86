/**
 * `GET /__RF/<box>/<id>[/<name>]` on any server: the owner streams the file (Content-Type,
 * Content-Disposition, HTTP Range); any other server answers 302 to the owner, or 503 when the
 * owner is down. `?download=1` asks for an attachment instead of inline display; types that could
 * run script are always attachments, under a sandboxing CSP (download-safety.ts). With a public
 * address (config `publicUrl`, or a trusted load balancer's forwarded headers) the redirect goes
 * to the same path there: the generated load balancer configs route it to the owner.
 */
import { createReadStream, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { log } from '../../core/logger.js';
import { filePaths, isFileId, ownerOfId, readSidecar, type FileIndex, type FileMeta } from './file-meta.js';
import { contentDisposition } from './filename.js';
import { EXPOSED_HEADERS, sendError } from '../http/http-reply.js';
import { parseRange } from './http-range.js';
import { safetyHeaders } from './download-safety.js';
import { publicOriginOf } from '../cluster/public-address.js';
import { hostPort, serverByName } from '../cluster/topology.js';

export const DOWNLOAD_PREFIX = '/__RF/';

export interface DownloadOptions {
  serverName: string;
  /** Set when this server holds the upload role (and so may own files). */
  dataDir?: string;
  index: FileIndex;
}

export class Download {
  constructor(private readonly options: DownloadOptions) {}

  /**
   * The file's record from the index; on its owner, from the sidecar on disk while the index entry
   * is still on its way to this process (an upload answered by one worker, the download served by
   * another a moment later).
   */
  private async metaOf(box: string, id: string): Promise<FileMeta | undefined> {
    const meta = await this.options.index.get(box, id);
    if (meta || !this.options.dataDir || ownerOfId(id) !== this.options.serverName) return meta;
    return readSidecar(this.options.dataDir, box, id);
  }

  handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (!url.pathname.startsWith(DOWNLOAD_PREFIX)) return false;
    void this.serve(req, res, url).catch((error) => {
      log.error('download.failed', { error });
      sendError(res, 500, 'DOWNLOAD_FAILED', 'the file could not be read; try again');
    });
    return true;
  }

  private async serve(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'GET' && req.method !== 'HEAD') return sendError(res, 405, 'METHOD_NOT_ALLOWED', 'download with GET');
    const [box, id] = url.pathname.slice(DOWNLOAD_PREFIX.length).split('/');
    if (!box || !id || !isFileId(id)) return sendError(res, 404, 'NO_SUCH_FILE', 'the path is /__RF/<box>/<id>');
    const meta = await this.metaOf(box, id);
    // Without metadata here yet (it replicates within moments), the id still names the owner.
    const ownerName = meta?.server ?? ownerOfId(id)!;
    if (ownerName !== this.options.serverName) {
      const owner = serverByName(ownerName);
      if (!owner) return sendError(res, 404, 'NO_SUCH_FILE', `no file ${id} in box '${box}'`);
      if (!owner.live) return sendError(res, 503, 'OWNER_DOWN', `the server holding this file (${ownerName}) is not reachable right now; try again later`);
      // Behind a load balancer, back through it: its generated config routes /__RF/<box>/<owner>.… to the owner.
      const origin = publicOriginOf(req);
      const base = origin ? `${origin.protocol}://${origin.host}` : `http://${hostPort(owner)}`;
      res.writeHead(302, { Location: `${base}${url.pathname}${url.search}`, 'Cache-Control': 'no-store', 'Content-Length': 0 }).end();
      return;
    }
    if (!meta) return sendError(res, 404, 'NO_SUCH_FILE', `no file ${id} in box '${box}'`);
    if (!this.options.dataDir) return sendError(res, 404, 'NO_SUCH_FILE', `this server has no dataDir to hold file ${id}`);
    const path = filePaths(this.options.dataDir, meta.box, meta.id).bytes;
    const stat = await fs.stat(path).catch(() => undefined);
    if (!stat?.isFile()) return sendError(res, 410, 'FILE_GONE', `file ${id} is recorded but its bytes are missing on ${meta.server}`);
    const range = parseRange(req.headers.range, stat.size);
    // Active types (HTML, SVG, XML, script…) never render on the app's origin: see download-safety.ts.
    const safety = safetyHeaders(meta.type, url.searchParams.has('download'));
    const headers: Record<string, string | number> = {
      'Content-Type': safety.type,
      'Content-Disposition': contentDisposition(meta.name, safety.disposition),
      'Accept-Ranges': 'bytes',
      'Last-Modified': stat.mtime.toUTCString(),
      ...safety.headers,
      'Access-Control-Expose-Headers': EXPOSED_HEADERS,
      'Cache-Control': 'private, max-age=3600',
    };
    if (range.kind === 'unsatisfiable') {
      res.writeHead(416, { ...headers, 'Content-Range': `bytes */${stat.size}`, 'Content-Length': 0 }).end();
      return;
    }
    const [start, end] = range.kind === 'partial' ? [range.start, range.end] : [0, stat.size - 1];
    res.writeHead(range.kind === 'partial' ? 206 : 200, {
      ...headers,
      'Content-Length': stat.size === 0 ? 0 : end - start + 1,
      ...(range.kind === 'partial' ? { 'Content-Range': `bytes ${start}-${end}/${stat.size}` } : {}),
    });
    if (req.method === 'HEAD' || stat.size === 0) {
      res.end();
      return;
    }
    // A download counts once: a whole-file GET or the first range of a resumable one.
    if (start === 0) void this.options.index.countDownload(meta).catch((error) => log.warn('download.count_failed', { error }));
    createReadStream(path, { start, end }).on('error', () => res.destroy()).pipe(res);
  }
}
