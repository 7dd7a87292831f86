/**
 * The upload role: `POST /__UPLOAD?box=<box>[&progress=<token>]`, multipart/form-data streamed
 * by busboy straight to disk under `<dataDir>/<box>/<random id>`. A file over `maxUploadFileMB`
 * fails the whole request with 413 and every file of that request is removed, partial ones
 * included. Progress (bytes received) is pushed to the box room `__upload.<token>`.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream, promises as fs } from 'node:fs';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { join } from 'node:path';
import { pipeline } from 'node:stream/promises';
import type busboy from 'busboy';
import { lazyModule } from '../../core/lazy-module.js';
import { getBox } from '../../boxes/box-registry.js';
import { log } from '../../core/logger.js';
import { fileId, filePaths, type FileIndex, type FileMeta } from './file-meta.js';
import { sanitizeFilename } from './filename.js';
import { normalizeType } from './download-safety.js';
import { refuseUnread, sendError, sendJson } from '../http/http-reply.js';
import { typeOf } from './static-files.js';
import { uploadCounts } from '../../metrics/counters.js';
import { pushToRoom } from '../../server/rooms.js';

/** Loaded on the first upload. */
const loadBusboy = lazyModule<typeof busboy>('busboy');

export const UPLOAD_PATH = '/__UPLOAD';
const PROGRESS_EVERY_MS = 200;
const TOKEN = /^[A-Za-z0-9_-]{8,64}$/;

export interface UploadRoleOptions {
  serverName: string;
  dataDir: string;
  maxUploadFileMB: number;
  index: FileIndex;
}

interface Pending {
  meta: FileMeta;
  part: string;
  done: Promise<void>;
  tooLarge: boolean;
}

export class UploadRole {
  private readonly maxBytes: number;

  /** A refused upload's body is read and dropped up to this (about one file at the limit), then the connection closes. */
  private readonly refusedDrainBytes: number;

  constructor(private readonly options: UploadRoleOptions) {
    this.maxBytes = Math.floor(options.maxUploadFileMB * 1024 * 1024);
    this.refusedDrainBytes = this.maxBytes + 64 * 1024;
  }

  handleRequest(req: IncomingMessage, res: ServerResponse, url: URL): boolean {
    if (url.pathname !== UPLOAD_PATH) return false;
    void this.upload(req, res, url).catch((error) => {
      log.error('upload.failed', { error });
      sendError(res, 500, 'UPLOAD_FAILED', 'the upload could not be stored; try again');
    });
    return true;
  }

  private async upload(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    if (req.method !== 'POST') return refuseUnread(req, res, 405, 'METHOD_NOT_ALLOWED', `upload with POST ${UPLOAD_PATH}?box=<box> (multipart/form-data)`, this.refusedDrainBytes);
    const boxName = url.searchParams.get('box') ?? '';
    if (!getBox(boxName)) return refuseUnread(req, res, 404, 'UNKNOWN_BOX', `there is no box ${JSON.stringify(boxName)} on this server (add ?box=<name>)`, this.refusedDrainBytes);
    const token = url.searchParams.get('progress');
    if (token !== null && !TOKEN.test(token)) return refuseUnread(req, res, 400, 'BAD_PROGRESS_TOKEN', 'progress must be 8–64 letters, digits, _ or -', this.refusedDrainBytes);
    let parser: busboy.Busboy;
    try {
      // One byte over the limit is enough to know a file is too large (busboy flags reaching it).
      parser = loadBusboy()({ headers: req.headers, defParamCharset: 'utf8', limits: { fileSize: this.maxBytes + 1, files: 20, fields: 50, parts: 70 } });
    } catch {
      return refuseUnread(req, res, 400, 'NOT_MULTIPART', 'send the files as multipart/form-data', this.refusedDrainBytes);
    }
    const dir = join(this.options.dataDir, boxName);
    await fs.mkdir(dir, { recursive: true });
    const files: Pending[] = [];
    let parseError: Error | undefined;
    parser.on('file', (_field, stream, info) => files.push(this.receiveFile(dir, boxName, stream, info)));
    parser.on('error', (error) => (parseError = error as Error));
    parser.on('filesLimit', () => (parseError = new Error('more than 20 files in one request')));
    if (token) this.trackProgress(req, boxName, token);
    const finished = new Promise<void>((resolve) => {
      parser.on('close', resolve);
      parser.on('error', () => resolve());
    });
    req.on('aborted', () => parser.destroy(new Error('client aborted')));
    req.pipe(parser);
    await finished;
    await Promise.allSettled(files.map((f) => f.done));
    const failed = parseError ?? (await Promise.all(files.map((f) => f.done.then(() => undefined, (e: Error) => e)))).find(Boolean);
    const tooLarge = files.find((f) => f.tooLarge);
    if (tooLarge || failed || files.length === 0) {
      await Promise.all(files.map((f) => fs.rm(f.part, { force: true })));
      if (tooLarge) return sendError(res, 413, 'TOO_LARGE', `'${tooLarge.meta.name}' is larger than the limit of ${this.options.maxUploadFileMB} MB (maxUploadFileMB); nothing was stored`);
      if (failed) return sendError(res, 400, 'BAD_UPLOAD', `the upload could not be read: ${failed.message}; nothing was stored`);
      return sendError(res, 400, 'NO_FILES', 'the request holds no file part');
    }
    for (const [at, file] of files.entries()) {
      const paths = filePaths(this.options.dataDir, file.meta.box, file.meta.id);
      await fs.rename(file.part, paths.bytes);
      try {
        await this.options.index.add(file.meta);
      } catch (error) {
        // No record (e.g. MongoDB unreachable): keep no bytes that nothing could ever find.
        await fs.rm(paths.bytes, { force: true });
        await Promise.all(files.slice(at + 1).map((f) => fs.rm(f.part, { force: true })));
        throw error;
      }
    }
    uploadCounts.files += files.length;
    for (const file of files) uploadCounts.bytes += file.meta.size;
    log.info('upload.stored', { box: boxName, files: files.map((f) => ({ id: f.meta.id, size: f.meta.size })) });
    sendJson(res, 201, { files: files.map((f) => f.meta) }, { 'Access-Control-Allow-Origin': '*' });
  }

  private receiveFile(dir: string, box: string, stream: NodeJS.ReadableStream & { truncated?: boolean }, info: busboy.FileInfo): Pending {
    const id = fileId(this.options.serverName, randomBytes(12).toString('base64url'));
    const part = join(dir, `.${id}.part`);
    const name = sanitizeFilename(info.filename);
    // Browsers send a real type; tools often send octet-stream, where the name says more.
    const type = normalizeType(info.mimeType && info.mimeType !== 'application/octet-stream' ? info.mimeType : typeOf(name));
    const meta: FileMeta = {
      id, box, name, type,
      size: 0, server: this.options.serverName, created: new Date().toISOString(), downloads: 0,
    };
    const pending: Pending = { meta, part, tooLarge: false, done: Promise.resolve() };
    stream.on('data', (chunk: Buffer) => (meta.size += chunk.length));
    stream.on('limit', () => (pending.tooLarge = true));
    stream.on('end', () => {
      if (meta.size > this.maxBytes) pending.tooLarge = true;
    });
    pending.done = pipeline(stream, createWriteStream(part, { flags: 'wx' }));
    pending.done.catch(() => undefined);
    return pending;
  }

  /** Pushes `{ received, total }` to the upload's room, at most every 200 ms, and once at the end. */
  private trackProgress(req: IncomingMessage, box: string, token: string): void {
    const total = Number(req.headers['content-length']) || null;
    let received = 0;
    let last = 0;
    const push = () => pushToRoom({ box, room: `__upload.${token}`, event: 'progress', data: { received, total } });
    req.on('data', (chunk: Buffer) => {
      received += chunk.length;
      const now = Date.now();
      if (now - last >= PROGRESS_EVERY_MS) {
        last = now;
        push();
      }
    });
    req.on('end', push);
  }
}
