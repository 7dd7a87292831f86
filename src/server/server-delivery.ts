/**
 * Delivery of what other servers send, in the process that owns the links, and the failure paths:
 * a request that cannot be delivered here fails back to its server; one of ours that cannot leave
 * (too large) fails to its requester here. Every failure is built the one way (Endpoint.failRequest).
 */
import { Kind, MASTER, decodeEnvelopes, type Envelope } from '../core/envelope.js';
import { log } from '../core/logger.js';
import { currentEndpoint } from '../cpu/index.js';
import { clusteringState } from './clustering-state.js';

/** A record from another server: the master routes it to its workers; a solo process handles it. */
export function deliverFromServer(from: string, target: number, body: Uint8Array, count: number): void {
  try {
    currentEndpoint().deliverFromServer(target, body, count);
  } catch (error) {
    failRemotely(from, body, error);
  }
}

/** Envelopes from another server that cannot be delivered here: fail each request back. */
function failRemotely(from: string, body: Uint8Array, error: unknown): void {
  let envelopes: Envelope[];
  try {
    envelopes = decodeEnvelopes(body);
  } catch {
    log.warn('envelope.malformed', { from });
    return;
  }
  for (const envelope of envelopes) {
    if (envelope.kind !== Kind.Request || clusteringState()?.kind !== 'owner') log.warn('message.dropped', { method: envelope.method, from, error });
    else currentEndpoint().failRequest({ ...envelope, fromServer: envelope.fromServer ?? from }, error);
  }
}

/** An envelope of ours that could not leave (too large): its requester gets the error. */
export function failLocally(envelope: Envelope, error: Error): void {
  if (envelope.kind === Kind.Reply && envelope.toServer) {
    // A reply too large: the remote requester gets the failure instead of a timeout.
    currentEndpoint().failRequest({ ...envelope, fromServer: envelope.toServer, fromWorker: envelope.toWorker ?? MASTER }, error);
  } else if (envelope.kind === Kind.Request) {
    currentEndpoint().failRequest(envelope, error);
  }
}
