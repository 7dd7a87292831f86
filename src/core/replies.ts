import { Kind, type Envelope } from './envelope.js';
import { toWireError } from './errors.js';

/** The process that answers a request: its worker id, its server (once named) and how errors name it. */
export interface Responder {
  readonly workerId: number;
  readonly serverName?: string;
  readonly origin: string;
}

/** Where the answer to `request` goes: the worker that sent it, on its server (omitted = this one). */
export function requesterOf(request: Envelope): { server?: string; worker: number } {
  return { server: request.fromServer, worker: request.fromWorker };
}

/**
 * The answer (reply or failure) to `request`, sent by `responder` back to its requester, with the
 * routing fields set when the requester is on another server.
 */
export function answerEnvelope(request: Envelope, kind: Kind.Reply | Kind.Failure, data: unknown, responder: Responder): Envelope {
  const server = request.fromServer;
  const crossesServers = server !== undefined && server !== responder.serverName;
  return {
    kind, channel: request.channel, method: request.method, data, id: request.id,
    fromWorker: responder.workerId,
    fromServer: crossesServers ? responder.serverName : undefined,
    toServer: crossesServers ? server : undefined,
    toWorker: crossesServers ? request.fromWorker : undefined,
  };
}

/**
 * The one way a request is failed, whatever failed it (its handler threw, nobody handles it, it
 * could not be delivered, its reply was too large): the error travels as a WireError (name,
 * message, origin, code) and the requester rejects with a RemoteError carrying it.
 */
export function failureEnvelope(request: Envelope, error: unknown, responder: Responder): Envelope {
  return answerEnvelope(request, Kind.Failure, toWireError(error, responder.origin), responder);
}
