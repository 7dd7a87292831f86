import { log } from '../../core/logger.js';

/** How long a (re)started server waits to catch up with a peer before accepting writes alone. */
const SYNC_WAIT_MS = 5_000;

/**
 * Catching up after a (re)start: once the network is open (SERVER_CLUSTERING opens its port after
 * `work()`), reads and writes wait until a peer has sent what this replica lacks, at most
 * SYNC_WAIT_MS; then it goes on alone. Before the network opens nothing can be learned, so
 * nothing waits.
 */
export class CatchUp {
  private synced = true;
  private networkOpenedAt?: number;
  private waiters: Array<() => void> = [];

  constructor(
    /** Whether peers can be reached yet (false without a transport). */
    private readonly networkOpen: () => boolean,
    /** Called once caught up (or given up waiting). */
    private readonly onSynced: () => void,
    /** For logs: this replica and its origin. */
    private readonly describe: () => { replica: string; origin: string },
  ) {}

  /** From now on, wait for a peer (a transport with peers was attached). */
  begin(): void {
    this.synced = false;
  }

  /** Every tick: give up waiting once SYNC_WAIT_MS passed since the network opened. */
  check(): void {
    if (this.synced || !this.networkOpen()) return;
    this.networkOpenedAt ??= Date.now();
    if (Date.now() - this.networkOpenedAt < SYNC_WAIT_MS) return;
    log.warn('store.alone_after_start', { ...this.describe(), waitedMs: SYNC_WAIT_MS, note: 'no other server answered; accepting writes alone' });
    this.done('no peer answered in time');
  }

  /**
   * Resolves once this replica caught up with a peer (or waited long enough), so reads and writes
   * are judged against what the cluster holds, not an empty replica after a restart. Undefined
   * when there is nothing to wait for.
   */
  whenSynced(): Promise<void> | undefined {
    if (!this.waiting()) return undefined;
    this.networkOpenedAt ??= Date.now();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Whether reads and writes wait for the catch-up now. */
  waiting(): boolean {
    return !this.synced && this.networkOpen();
  }

  /** Caught up (`reason` for the log). */
  done(reason: string): void {
    if (this.synced) return;
    this.synced = true;
    log.info('store.synced', { replica: this.describe().replica, reason });
    this.onSynced();
    const waiters = this.waiters;
    this.waiters = [];
    for (const resolve of waiters) resolve();
  }
}
