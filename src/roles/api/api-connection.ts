/**
 * One WebSocket client of the API role. Text frames are JSON, binary frames msgpack; a reply
 * uses the format of its request, pushes use the format of the client's last message.
 *
 *   → { id, box, method, data }        ← { id, result } | { id, error: { code, message, status } }
 *   → { id, box, join: 'room' }        ← { id, result: true }
 *   → { id, box, leave: 'room' }       ← { id, result: true }
 *                                      ← { box, room, event, data }   (room push)
 *
 * Nothing a client sends can crash the process: malformed messages get an error reply, a burst
 * over the rate limit gets RATE_LIMITED replies, oversized messages close the connection (1009,
 * by `ws`), a client that does not read its pushes is disconnected (1013).
 */
import type { IncomingMessage } from 'node:http';
import { Packr } from 'msgpackr';
import type { WebSocket, RawData } from 'ws';
import type { Box } from '../../boxes/box.js';
import type { ClientInfo } from '../../boxes/define-box.js';
import { log } from '../../core/logger.js';
import { LogLimiter } from '../../core/log-limiter.js';
import { ApiError, toApiError } from './api-errors.js';
import { callMethod, checkJoin, ClientSession, findBox } from './api-calls.js';
import { isThenable } from '../../core/value-kinds.js';
import type { ApiLimits } from './api-limits.js';
import { TokenBucket } from './rate-limit.js';
import { nextClientId } from './client-id.js';
import { plainMsgpackProblem } from './plain-msgpack.js';
import { joinRoom, leaveAllRooms, leaveRoom, type RoomMember, type RoomPush } from '../../server/rooms.js';
import { clientAddressOf } from '../cluster/public-address.js';
import { apiCounter } from '../../metrics/api-counters.js';

/** Plain msgpack, no records extension: any msgpack library on the client side can read it. */
export const clientPackr = new Packr({ useRecords: false, moreTypes: false, int64AsType: 'number' });

/**
 * Decodes a client's msgpack: plain maps, arrays and scalars only (see plain-msgpack.ts); an
 * extension type (RegExp, Set, Error, bigint, timestamp, records) is a BAD_MESSAGE, never data.
 */
export function decodeClientMsgpack(bytes: Buffer): unknown {
  const problem = plainMsgpackProblem(bytes);
  if (problem) throw new ApiError(400, 'BAD_MESSAGE', `the msgpack message ${problem}`);
  try {
    return clientPackr.unpack(bytes);
  } catch (error) {
    // What the scan cannot see, msgpackr refuses (e.g. a map key that is binary or an array).
    throw new ApiError(400, 'BAD_MESSAGE', `the msgpack message cannot be decoded: ${(error as Error)?.message ?? String(error)}`);
  }
}

type Format = 'json' | 'msgpack';

/** Clients can trigger these lines (a method that fails, a client that stops reading): rate-limited. */
const clientLogs = new LogLimiter(20, 10_000);

export class ApiConnection implements RoomMember {
  private readonly session: ClientSession;
  private readonly bucket: TokenBucket;
  private format: Format;
  /** Refusals since the client last went a second without one (see onMessage). */
  private refused = 0;
  private lastRefusedAt = 0;

  constructor(private readonly socket: WebSocket, request: IncomingMessage, url: URL, private readonly limits: ApiLimits) {
    this.bucket = new TokenBucket(limits.callsPerSecond, limits.burst);
    const query = url.searchParams;
    this.format = query.get('format') === 'msgpack' ? 'msgpack' : 'json';
    this.session = new ClientSession(
      { id: nextClientId(), transport: 'ws', remoteAddress: clientAddressOf(request), headers: request.headers, query: Object.fromEntries(query) },
      (box, room, client) => this.join(box, room, client),
      (box, room) => leaveRoom(box.name, room, this),
    );
    socket.on('message', (raw, isBinary) => this.onMessage(raw, isBinary));
    socket.on('close', () => leaveAllRooms(this));
    socket.on('error', (error) => log.debug('api.socket_error', { error }));
  }

  push(push: RoomPush): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    if (this.socket.bufferedAmount > this.limits.maxBufferedBytes) {
      clientLogs.warn('api.slow_client_closed', { client: this.session.base.id, bufferedBytes: this.socket.bufferedAmount });
      this.socket.close(1013, 'too slow reading pushes');
      return;
    }
    this.write(push, this.format);
  }

  private onMessage(raw: RawData, isBinary: boolean): void {
    const format: Format = isBinary ? 'msgpack' : 'json';
    this.format = format;
    let message: { id?: unknown; box?: unknown; method?: unknown; data?: unknown; join?: unknown; leave?: unknown };
    try {
      const buffer = Buffer.isBuffer(raw) ? raw : Array.isArray(raw) ? Buffer.concat(raw) : Buffer.from(raw);
      message = (isBinary ? decodeClientMsgpack(buffer) : JSON.parse(buffer.toString('utf8'))) as typeof message;
      if (typeof message !== 'object' || message === null || Array.isArray(message)) throw new TypeError('not an object');
    } catch (error) {
      const detail = error instanceof ApiError ? `: ${error.message}` : '';
      this.reply(null, format, undefined, new ApiError(400, 'BAD_MESSAGE', `messages are ${format === 'json' ? 'JSON' : 'plain msgpack'} objects { id, box, method, data }${detail}`));
      return;
    }
    const id = typeof message.id === 'number' || typeof message.id === 'string' ? message.id : null;
    // Method calls are counted (metrics); joins and leaves are not calls.
    const counter = message.method !== undefined ? apiCounter('ws', message.box, message.method) : undefined;
    if (counter) counter.calls++;
    if (!this.bucket.take()) {
      if (counter) counter.rateLimited++;
      // A client that keeps hammering after being told is cut off rather than answered forever.
      // The count restarts only after a quiet second: an accepted call in between proves nothing
      // (the bucket refills a token every few milliseconds, so resetting on one never let the
      // count grow).
      const now = performance.now();
      if (now - this.lastRefusedAt > 1000) this.refused = 0;
      this.lastRefusedAt = now;
      if (++this.refused > this.limits.burst * 10) {
        this.socket.close(1008, 'rate limit exceeded');
        return;
      }
      this.reply(id, format, undefined, new ApiError(429, 'RATE_LIMITED', `more than ${this.limits.callsPerSecond} calls per second on this connection; slow down`));
      return;
    }
    const answer = (result: unknown) => {
      if (id !== null) this.reply(id, format, result === undefined ? null : result);
    };
    const fail = (error: unknown) => {
      if (counter) counter.errors++;
      this.reply(id, format, undefined, error);
    };
    let result: unknown;
    try {
      result = message.join !== undefined || message.leave !== undefined ? this.joinOrLeave(message.box, message.join, message.leave) : callMethod(this.session, message.box, message.method, message.data);
    } catch (error) {
      return fail(error);
    }
    if (isThenable(result)) result.then(answer, fail);
    else answer(result);
  }

  private async joinOrLeave(boxName: unknown, join: unknown, leave: unknown): Promise<true> {
    const box = findBox(boxName);
    const client = await this.session.clientFor(box);
    if (join !== undefined) await client.join(join as string);
    else client.leave(String(leave));
    return true;
  }

  private async join(box: Box, room: string, client: ClientInfo): Promise<void> {
    const name = await checkJoin(box, room, client);
    joinRoom(box.name, name, this);
  }

  private reply(id: unknown, format: Format, result: unknown, error?: unknown): void {
    if (error === undefined) return this.write({ id, result }, format);
    const wire = toApiError(error);
    if (wire.status >= 500) clientLogs.warn('api.method_failed', { client: this.session.base.id, error: wire });
    this.write({ id, error: wire }, format);
  }

  private write(value: unknown, format: Format): void {
    if (this.socket.readyState !== this.socket.OPEN) return;
    try {
      this.socket.send(format === 'json' ? JSON.stringify(value) : clientPackr.pack(value));
    } catch (error) {
      // A result that cannot be encoded (a cycle, a BigInt in JSON) becomes an error reply.
      const id = (value as { id?: unknown }).id ?? null;
      const fallback = { id, error: { status: 500, code: 'UNENCODABLE_RESULT', message: `the result cannot be sent as ${format}: ${(error as Error).message}` } };
      this.socket.send(format === 'json' ? JSON.stringify(fallback) : clientPackr.pack(fallback));
    }
  }
}
