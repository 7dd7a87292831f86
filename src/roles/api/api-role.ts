/**
 * The API role: box methods over WebSocket (`/__API`, see api-connection.ts) and over HTTP
 * (`POST /__API/<box>/<method>`, JSON or msgpack body, reply in the same format), rooms, and
 * the browser client module.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { ApiError, toApiError } from './api-errors.js';
import { callMethod, HttpClient } from './api-calls.js';
import { isThenable } from '../../core/value-kinds.js';
import { ApiConnection, clientPackr, decodeClientMsgpack } from './api-connection.js';
import type { ApiLimits } from './api-limits.js';
import { BodyTooLarge, readBody } from '../http/http-reply.js';
import { ServerRateLimit } from './server-rate-limit.js';
import { clientAddressOf } from '../cluster/public-address.js';
import { wireRooms } from '../../server/rooms.js';
import { apiCounter, type ApiCounter } from '../../metrics/api-counters.js';

export const API_PATH = '/__API';

/** One HTTP call to a box method, as parsed from its request line. */
interface HttpCall {
  req: IncomingMessage;
  res: ServerResponse;
  rawUrl: string;
  msgpack: boolean;
  boxName: string;
  method: string;
  remoteAddress: string;
  /** Where the query string starts in rawUrl (-1: none). */
  q: number;
  counter: ApiCounter;
}

export class ApiRole {
  private readonly wss: WebSocketServer;
  private readonly httpLimit: ServerRateLimit;

  constructor(private readonly limits: ApiLimits) {
    wireRooms();
    this.httpLimit = new ServerRateLimit(limits);
    this.wss = new WebSocketServer({ noServer: true, maxPayload: limits.maxMessageBytes, perMessageDeflate: false });
    this.wss.on('connection', (socket: WebSocket, request: IncomingMessage, url: URL) => new ApiConnection(socket, request, url, limits));
  }

  /** WebSocket clients connected to this worker (part of the server's load figure). */
  connectionCount(): number {
    return this.wss.clients.size;
  }

  /** Takes WebSocket upgrades to `/__API`; returns false for other paths. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer, url: URL): boolean {
    if (url.pathname !== API_PATH && url.pathname !== `${API_PATH}/`) return false;
    this.wss.handleUpgrade(req, socket, head, (ws) => this.wss.emit('connection', ws, req, url));
    return true;
  }

  /**
   * `POST /__API/<box>/<method>[?query]`; returns false for other requests. Takes the raw
   * request URL: this is the hot path, and it needs no URL object.
   */
  handleRequest(req: IncomingMessage, res: ServerResponse, rawUrl: string): boolean {
    if (!rawUrl.startsWith(`${API_PATH}/`)) return false;
    void this.httpCall(req, res, rawUrl);
    return true;
  }

  /**
   * Callbacks rather than async/await on purpose, and few allocations: a plain call (no async
   * hook, a method returning a value) answers within the request body's 'end' event.
   */
  private httpCall(req: IncomingMessage, res: ServerResponse, rawUrl: string): void {
    const contentType = req.headers['content-type'];
    const accept = req.headers.accept;
    const msgpack = (contentType !== undefined && contentType.includes('msgpack')) || (accept !== undefined && accept.includes('msgpack'));
    if (req.method !== 'POST') return fail(res, msgpack, new ApiError(405, 'METHOD_NOT_ALLOWED', `call box methods with POST ${API_PATH}/<box>/<method>`));
    const q = rawUrl.indexOf('?');
    const end = q < 0 ? rawUrl.length : q;
    const start = API_PATH.length + 1;
    const slash = rawUrl.indexOf('/', start);
    const extra = slash < 0 ? -1 : rawUrl.indexOf('/', slash + 1);
    const wellFormed = slash > start && slash < end - 1 && (extra < 0 || extra >= end);
    if (!wellFormed) {
      return fail(res, msgpack, new ApiError(404, 'UNKNOWN_METHOD', `the path is ${API_PATH}/<box>/<method>`));
    }
    const boxName = safeDecode(rawUrl.slice(start, slash));
    const method = safeDecode(rawUrl.slice(slash + 1, end));
    const call: HttpCall = { req, res, rawUrl, msgpack, boxName, method, remoteAddress: clientAddressOf(req), q, counter: apiCounter('http', boxName, method) };
    call.counter.calls++;
    const allowed = this.httpLimit.take(call.remoteAddress);
    if (allowed === true) return this.answerCall(call);
    if (allowed === false) return this.refuse(call);
    allowed.then((ok) => (ok ? this.answerCall(call) : this.refuse(call)));
  }

  private refuse({ res, msgpack, counter }: HttpCall): void {
    counter.rateLimited++;
    fail(res, msgpack, new ApiError(429, 'RATE_LIMITED', `more than ${this.limits.callsPerSecond} calls per second from this address (all workers of this server together); slow down`));
  }

  private answerCall({ req, res, rawUrl, msgpack, boxName, method, remoteAddress, q, counter }: HttpCall): void {
    const limit = this.limits.maxMessageBytes;
    readBody(req, limit, (error, body) => {
      if (error) return fail(res, msgpack, error instanceof BodyTooLarge ? new ApiError(413, 'TOO_LARGE', `the request body is larger than ${limit} bytes`) : error, counter);
      let result: unknown;
      try {
        const data = parseBody(body!, msgpack);
        const query = q < 0 ? {} : Object.fromEntries(new URLSearchParams(rawUrl.slice(q + 1)));
        result = callMethod(new HttpClient({ id: '', transport: 'http', remoteAddress, headers: req.headers, query }), boxName, method, data);
      } catch (thrown) {
        return fail(res, msgpack, thrown, counter);
      }
      if (isThenable(result)) result.then((value) => succeed(res, msgpack, value), (thrown) => fail(res, msgpack, thrown, counter));
      else succeed(res, msgpack, result);
    });
  }

  close(): void {
    for (const client of this.wss.clients) client.close(1001, 'server stopping');
    this.wss.close();
  }
}

// POST answers are not cached by browsers or proxies: no Cache-Control needed. JSON is UTF-8 by
// definition (RFC 8259): no charset. Small headers matter at tens of thousands of calls/s.
function answer(res: ServerResponse, msgpack: boolean, status: number, value: unknown): void {
  const body = msgpack ? clientPackr.pack(value) : JSON.stringify(value);
  res.writeHead(status, {
    'Content-Type': msgpack ? 'application/msgpack' : 'application/json',
    'Content-Length': typeof body === 'string' ? Buffer.byteLength(body) : body.length,
    'Access-Control-Allow-Origin': '*',
  });
  res.end(body);
}

function succeed(res: ServerResponse, msgpack: boolean, value: unknown): void {
  answer(res, msgpack, 200, { result: value === undefined ? null : value });
}

/** Answers with an error; a call's `counter` counts it (metrics). */
function fail(res: ServerResponse, msgpack: boolean, error: unknown, counter?: ApiCounter): void {
  if (counter) counter.errors++;
  const wire = toApiError(error);
  answer(res, msgpack, wire.status, { error: wire });
}

function parseBody(body: Buffer, msgpack: boolean): unknown {
  if (body.length === 0) return null;
  try {
    return msgpack ? decodeClientMsgpack(body) : JSON.parse(body.toString('utf8'));
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(400, 'BAD_MESSAGE', `the body is not valid ${msgpack ? 'msgpack' : 'JSON'}`);
  }
}

function safeDecode(part: string): string {
  if (!part.includes('%')) return part;
  try {
    return decodeURIComponent(part);
  } catch {
    return '';
  }
}
