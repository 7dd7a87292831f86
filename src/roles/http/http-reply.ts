/**
 * Small response helpers shared by the roles: JSON bodies, JSON errors with a stable code, CORS
 * (pages on the front door call API and upload servers on other origins), JSONP.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';

/**
 * The request URL, or undefined when it cannot be parsed (`GET //[ HTTP/1.1` reaches the server:
 * Node's parser lets it through, `new URL` throws). Every role takes the URL from here.
 */
export function parseRequestUrl(raw: string | undefined): URL | undefined {
  try {
    return new URL(raw ?? '/', 'http://boxwire');
  } catch {
    return undefined;
  }
}

/** Every response may be read cross-origin (the data is what any page of the app may call). */
export function allowCors(res: ServerResponse): void {
  res.setHeader('Access-Control-Allow-Origin', '*');
}

/** Response headers a page's script may read beyond the CORS-safelisted ones (downloads). */
export const EXPOSED_HEADERS = 'Content-Length, Content-Range, Content-Disposition, Accept-Ranges';

/** Answers a CORS preflight; returns true when the request was one. */
export function answerPreflight(req: IncomingMessage, res: ServerResponse): boolean {
  if (req.method !== 'OPTIONS') return false;
  allowCors(res);
  res.setHeader('Access-Control-Allow-Methods', 'GET, POST, OPTIONS');
  res.setHeader('Access-Control-Allow-Headers', 'Content-Type, Range, Authorization, X-Token');
  res.setHeader('Access-Control-Max-Age', '600');
  res.writeHead(204).end();
  return true;
}

export function sendJson(res: ServerResponse, status: number, value: unknown, headers: Record<string, string> = {}): void {
  const body = JSON.stringify(value);
  res.writeHead(status, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store', ...headers });
  res.end(body);
}

/** `{ error: { code, message } }`: the shape every role uses for failures. */
export function sendError(res: ServerResponse, status: number, code: string, message: string): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  sendJson(res, status, { error: { code, message } });
}

/**
 * `sendError` for a request whose body will not be read (an upload refused before parsing). An
 * answer sent while the client is still writing its body races the socket: a client that then
 * sees the connection reset loses the answer ("fetch failed"). So a small body is read to its end
 * and dropped first; past `drainBytes` (what the server would have accepted anyway) the answer
 * goes at once with `Connection: close`, and a client still sending may then miss it.
 */
export function refuseUnread(req: IncomingMessage, res: ServerResponse, status: number, code: string, message: string, drainBytes: number): void {
  if (req.readableEnded) return sendError(res, status, code, message);
  let seen = 0;
  let answered = false;
  const answer = (close: boolean) => {
    if (answered) return;
    answered = true;
    if (close && !res.headersSent) res.setHeader('Connection', 'close');
    sendError(res, status, code, message);
  };
  req.on('data', (chunk: Buffer) => {
    seen += chunk.length;
    if (seen > drainBytes) answer(true);
  });
  req.on('end', () => answer(false));
  req.on('error', () => answer(true));
  req.resume();
}

export function sendText(res: ServerResponse, status: number, text: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type, 'Content-Length': Buffer.byteLength(text), 'Cache-Control': 'no-store' });
  res.end(text);
}

/** A JavaScript identifier path such as `cb` or `App.on_host`: anything else could inject script. */
const CALLBACK = /^[A-Za-z_$][\w$]{0,63}(\.[A-Za-z_$][\w$]{0,63}){0,4}$/;

export function isValidCallbackName(name: string): boolean {
  return CALLBACK.test(name);
}

/**
 * Plain value, or JSONP when `callback` is given (UPPERCASE-era pages load discovery answers
 * with a script tag). An invalid callback name is a 400, never echoed into script.
 */
export function sendMaybeJsonp(req: IncomingMessage, res: ServerResponse, url: URL, value: unknown, plain: () => void): void {
  const callback = url.searchParams.get('callback');
  if (callback === null) return plain();
  if (!isValidCallbackName(callback)) {
    sendError(res, 400, 'BAD_CALLBACK', 'callback must be a JavaScript identifier (letters, digits, _ and $, dotted paths allowed)');
    return;
  }
  res.setHeader('X-Content-Type-Options', 'nosniff');
  sendText(res, 200, `/**/${callback}(${JSON.stringify(value)});`, 'application/javascript; charset=utf-8');
  void req;
}

/**
 * Reads a request body up to `limit` bytes, then calls `done` once: with the body, or with a
 * BodyTooLarge (the rest of the body is drained, unread) or the stream's error.
 */
export function readBody(req: IncomingMessage, limit: number, done: (error: Error | undefined, body?: Buffer) => void): void {
  const declared = Number(req.headers['content-length']);
  if (declared > limit) {
    req.resume();
    done(new BodyTooLarge(limit));
    return;
  }
  const chunks: Buffer[] = [];
  let size = 0;
  let finished = false;
  const finish = (error: Error | undefined, body?: Buffer) => {
    if (finished) return;
    finished = true;
    done(error, body);
  };
  req.on('data', (chunk: Buffer) => {
    if (finished) return;
    size += chunk.length;
    if (size > limit) {
      finish(new BodyTooLarge(limit));
      return;
    }
    chunks.push(chunk);
  });
  req.on('end', () => finish(undefined, chunks.length === 1 ? chunks[0] : Buffer.concat(chunks)));
  req.on('error', (error) => finish(error));
}

export class BodyTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`request body is larger than ${limit} bytes`);
  }
}
