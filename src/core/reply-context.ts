import type { Endpoint } from './endpoint.js';
import { Kind, type Envelope } from './envelope.js';

/** The `reply` given to a handler that does not declare one (its return value is the reply). */
export function ignoreReply(): void {}

/** The state of one request being handled: the first reply (or failure) wins. */
export class ReplyContext {
  private replied = false;

  constructor(private readonly endpoint: Endpoint, private readonly request: Envelope) {}

  reply(value: unknown): void {
    if (this.replied) return;
    this.replied = true;
    this.endpoint.answer(this.request, Kind.Reply, value);
    this.endpoint.settleHandler();
  }

  bound(): (value: unknown) => void {
    return (value) => this.reply(value);
  }

  fail(error: unknown): void {
    if (this.replied) {
      this.endpoint.handlerFailed(this.request, error);
      return;
    }
    this.replied = true;
    this.endpoint.failRequest(this.request, error);
    this.endpoint.settleHandler();
  }
}
