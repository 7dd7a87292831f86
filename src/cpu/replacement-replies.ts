import { Kind, decodeEnvelopes, type Envelope } from '../core/envelope.js';
import type { Incarnation } from './worker-slot.js';

/**
 * During a rolling restart two processes serve one worker id: the current one (which gets the
 * id's traffic) and its replacement, which runs its `work()` — and may await requests there (its
 * SERVER_CLUSTERING joining the master, a request to another worker). Replies are addressed by
 * worker id only, so the master notes the requests that came from a replacement and sends their
 * replies to it rather than to the current process. Request ids start at a random number in every
 * process (RequestTable), so the two processes' ids do not collide.
 */
export class ReplacementReplies {
  private readonly byRequest = new Map<string, Incarnation>();

  get active(): boolean {
    return this.byRequest.size !== 0;
  }

  /** A record from a replacement process: remember where the replies to its requests go. */
  noteRequests(workerId: number, incarnation: Incarnation, body: Uint8Array): void {
    let envelopes: Envelope[];
    try {
      envelopes = decodeEnvelopes(body);
    } catch {
      return; // the normal path reports malformed records
    }
    for (const envelope of envelopes) if (envelope.kind === Kind.Request) this.byRequest.set(`${workerId}:${envelope.id}`, incarnation);
  }

  /** The replacement waiting for this reply (taken out), or undefined for anything else. */
  take(workerId: number, envelope: Envelope): Incarnation | undefined {
    if (envelope.kind !== Kind.Reply && envelope.kind !== Kind.Failure) return undefined;
    const key = `${workerId}:${envelope.id}`;
    const incarnation = this.byRequest.get(key);
    if (incarnation) this.byRequest.delete(key);
    return incarnation;
  }

  /** That process now gets the id's traffic (promoted) or is gone: nothing to redirect any more. */
  forget(incarnation: Incarnation): void {
    for (const [key, waiting] of this.byRequest) if (waiting === incarnation) this.byRequest.delete(key);
  }
}
