/**
 * One store's writes from this process, for one slot group of the store (see store-keys.ts: every
 * id belongs to one group). Writes made in the same turn of the event loop go to Redis as one
 * batch (one Lua script run over the group's slot, see write-script.ts); the next batch leaves
 * when the previous one is answered, so this process's writes to a group — and so to any one
 * id — apply in the order it made them.
 *
 * An update is computed here, from the newest version this process knows of the document (its own
 * confirmed writes not yet back through the feed, else its copy of the store), and sent with that
 * version: if another process wrote in between, Redis answers "conflict" with the current
 * document and the update is computed again from it. Nothing is lost and nothing applies twice: a
 * batch whose answer was lost (connection dropped, timeout) is never re-sent; its writes fail
 * with StoreUnavailableError saying the outcome is unknown.
 */
import { encode, decode } from '../../../core/codec.js';
import { OverflowError } from '../../../core/errors.js';
import { log } from '../../../core/logger.js';
import { copyValue } from '../../documents/document-values.js';
import { checkDocumentSize, storeLimits } from '../../limits.js';
import { StoreLimitError, StoreOperationError } from '../../store-errors.js';
import { isLive, type Entry } from '../../documents/store-tables.js';
import { applyUpdate } from '../../documents/update-operators.js';
import type { WriteRequest, WriteResult } from '../../workers/write-request.js';
import type { GroupCounts } from './group-counts.js';
import type { HeldGroup } from './held-store.js';
import type { StoreKeys } from './store-keys.js';
import { packWriteBatch } from './write-batch.js';
import { compareStreamIds } from './stream-id.js';
import { describeFailure, isDefinitelyNotRun, isReadOnly, unavailable } from './redis-failures.js';
import type { StoreConnections } from './store-connections.js';
import { ABSENT, CHAINED, UNKNOWN, predictedAfter, type Base, type PlannedWrite, type QueuedWrite } from './planned-write.js';

/** Most writes in one script run (bounds the script's time in Redis and the reply's size). */
const MAX_BATCH = 256;
/** A write not done by then (Redis failing over, conflicts without end) fails. */
const WRITE_DEADLINE_MS = 10_000;
/** A write refused because Redis is not serving (cluster down, loading) is retried only this long after it was made. */
const UNAVAILABLE_RETRY_MS = 3_000;
/** A write's own feed entry normally reaches this process in a millisecond; past this, resolve anyway. */
const FEED_WAIT_MS = 5_000;
/** Past this many remembered writes, those the copy shows are dropped (a store only written: all of them). */
const MAX_REMEMBERED = 1_000;

export class StoreWriter {
  private queue: QueuedWrite[] = [];
  private busy = false;
  private scheduled = false;
  /** This process's confirmed writes (and conflict answers) newer than its copy may be: id → base. */
  private readonly recent = new Map<string, Base>();
  /** A clear this process made that its copy may not show yet. */
  private clearedAt?: string;

  constructor(
    readonly store: string,
    /** The keys of the slot group this writer writes to. */
    private readonly keys: StoreKeys,
    private readonly connections: StoreConnections,
    /** This process's copy of the group, when it reads the store (undefined: it only writes). */
    private readonly held: () => HeldGroup | undefined,
    /** Feed entries Redis keeps per group (about: MAXLEN ~). */
    private readonly feedLength: number,
    /** Entries per group of the store (the entry limit is store-wide). */
    private readonly counts: GroupCounts,
  ) {}

  write(request: WriteRequest): Promise<WriteResult> {
    // Bounded like the in-memory engine's worker queue (writes wait here only while a batch is out or Redis reconnects).
    const max = storeLimits().maxInFlightWrites;
    if (this.queue.length >= max) return Promise.reject(new OverflowError(`the Redis write queue of store '${this.store}' in this process`, `${max} writes waiting; set with maxInFlightWrites`));
    return new Promise((resolve, reject) => {
      const now = Date.now();
      this.queue.push({ request, resolve, reject, deadline: now + WRITE_DEADLINE_MS, madeAt: now });
      this.schedule();
    });
  }

  private schedule(): void {
    if (this.busy || this.scheduled || this.queue.length === 0) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.busy || this.queue.length === 0) return;
    this.busy = true;
    try {
      // Not connected: wait out a short reconnect (or the first connect), else fail every queued write.
      const ready = this.connections.whenCommandReady();
      if (ready !== true && !(await ready)) {
        for (const write of this.queue.splice(0)) write.reject(unavailable(this.connections, write.request, false));
        return;
      }
      const planned = this.plan();
      if (planned.length) await this.send(planned);
    } finally {
      this.busy = false;
      this.schedule();
    }
  }

  /** Takes writes off the queue and computes them, stopping before one whose base the batch cannot know. */
  private plan(): PlannedWrite[] {
    const now = Date.now();
    const inBatch = new Map<string, Base | undefined>();
    let clearedInBatch = false;
    const planned: PlannedWrite[] = [];
    while (this.queue.length && planned.length < MAX_BATCH) {
      const write = this.queue[0];
      if (write.deadline <= now) {
        this.queue.shift();
        write.reject(unavailable(this.connections, write.request, false, 'gave up after retrying for 10 s (Redis failing over, or this document written without pause by other processes)'));
        continue;
      }
      const { request } = write;
      const id = request.id;
      // Within a batch, a write's base is what the batch's earlier writes left (Redis runs them
      // in one step), unless one of them could go either way (create, an unknown base).
      let base: Base | undefined;
      let chained = false;
      if (id !== undefined && inBatch.has(id)) {
        base = inBatch.get(id);
        if (base === undefined) break;
        chained = true;
      } else if (id !== undefined && clearedInBatch) {
        base = { version: ABSENT };
        chained = true;
      } else if (id !== undefined) {
        base = this.base(id);
      }
      this.queue.shift();
      let item: PlannedWrite;
      try {
        item = this.planOne(write, base, chained);
      } catch (error) {
        // Cannot happen for data SharedStore checked; never leave a caller without an answer.
        write.reject(error as Error);
        break;
      }
      planned.push(item);
      if (request.kind === 'clear') {
        clearedInBatch = true;
        inBatch.clear();
      } else if (id !== undefined) {
        inBatch.set(id, predictedAfter(item, base));
      }
    }
    return planned;
  }

  private planOne(write: QueuedWrite, base: Base | undefined, chained: boolean): PlannedWrite {
    const { request } = write;
    const ttlMs = request.removeAfterSeconds === undefined ? 0 : Math.max(1, Math.round(request.removeAfterSeconds * 1000));
    switch (request.kind) {
      case 'save':
      case 'create':
        return { write, code: request.kind === 'save' ? 's' : 'n', expect: '', data: encode(request.data), ttlMs, doc: request.data };
      case 'remove':
        return { write, code: 'r', expect: '', data: '', ttlMs: 0 };
      case 'clear':
        return { write, code: 'c', expect: '', data: '', ttlMs: 0 };
      case 'update': {
        if (!base) return { write, code: 'u', expect: UNKNOWN, data: '', ttlMs };
        const expect = chained ? CHAINED : base.version;
        const live = base.entry && isLive(base.entry, this.redisNow()) ? base.entry : undefined;
        // Absent (or expired by Redis's clock): Redis answers "not there", or sends the document it has.
        if (!live) return { write, code: 'u', expect: chained ? CHAINED : ABSENT, data: '', ttlMs };
        try {
          const doc = applyUpdate(live.doc, request.data!);
          const data = encode(doc);
          checkDocumentSize(this.store, request.id!, data.length);
          return { write, code: 'u', expect, data, ttlMs, doc };
        } catch (error) {
          if (!(error instanceof StoreOperationError || error instanceof StoreLimitError)) throw error;
          // Wrong only if the copy was stale: Redis confirms (or sends the current document).
          return { write, code: 'v', expect, data: '', ttlMs: 0, localError: error };
        }
      }
    }
  }

  /** The newest this process knows of `id`: its own recent write, or its copy; undefined when it does not read the store. */
  private base(id: string): Base | undefined {
    const held = this.held();
    const recent = this.recent.get(id);
    if (!held) return recent;
    if (recent && compareStreamIds(recent.asOf ?? recent.version, held.position) > 0) return recent;
    if (recent) this.recent.delete(id);
    if (this.clearedAt && compareStreamIds(held.position, this.clearedAt) < 0) {
      const local = held.base(id);
      return local.entry && compareStreamIds(local.version, this.clearedAt) > 0 ? local : { version: ABSENT };
    }
    return held.base(id);
  }

  private redisNow(): number {
    return Date.now() + this.connections.clockOffsetMs;
  }

  private async send(planned: PlannedWrite[]): Promise<void> {
    const keys = [this.keys.meta, this.keys.feed, this.keys.ids];
    const args = [String(this.feedLength), String(this.entryLimit(planned) - this.counts.others(this.keys.group)), this.keys.docPrefix, packWriteBatch(planned)];
    let replies: unknown[];
    try {
      replies = await this.connections.runWrite(keys, args);
    } catch (error) {
      await this.failed(planned, error as Error);
      return;
    }
    const last = replies[planned.length] as Array<Buffer | number> | undefined;
    if (last && String(last[0]) === 'count') this.counts.set(this.keys.group, Number(last[1]));
    // The batch's feed entry id: the version of every document it wrote ('' when it wrote none).
    const entry = last?.[2] === undefined ? '' : String(last[2]);
    const retry: QueuedWrite[] = [];
    const visible: Array<[QueuedWrite, WriteResult]> = [];
    planned.forEach((item, i) => {
      const reply = scriptReply(replies[i], entry);
      const settled = this.settle(item, reply);
      if (settled === 'retry') retry.push(item.write);
      else if (settled) visible.push([item.write, settled]);
    });
    if (retry.length) this.queue.unshift(...retry);
    this.forgetSeen();
    // The next batch may leave now; this one's callers hear back as their writes reach this process's copy.
    if (visible.length) this.whenVisible(entry, visible);
  }

  /** Handles one write's answer: settles it, or returns the result to give once it is visible here, or asks for a retry. */
  private settle(item: PlannedWrite, reply: ScriptReply): WriteResult | 'retry' | undefined {
    const { write } = item;
    const id = write.request.id!;
    switch (reply.outcome) {
      case 'ok': {
        const version = reply.version;
        const expiry = reply.expiry;
        if (item.code === 'c') {
          this.recent.clear();
          this.clearedAt = version;
          return APPLIED;
        }
        if (item.code === 'r') {
          this.recent.set(id, { version });
          return { outcome: 'applied', removed: decode(reply.data!) };
        }
        const entry: Entry = { doc: item.doc! };
        if (expiry) entry.expiresAt = Number(expiry);
        this.recent.set(id, { entry, version });
        // The caller gets its own copy: the document stays this writer's base for the next update.
        return item.code === 's' ? APPLIED : { outcome: 'applied', document: copyValue(item.doc!) };
      }
      case 'nx':
        write.resolve(NOT_EXISTS);
        return undefined;
      case 'exists': {
        const base = this.baseFromReply(reply);
        this.recent.set(id, base);
        write.resolve({ outcome: 'exists', document: base.entry!.doc });
        return undefined;
      }
      case 'conflict':
        this.recent.set(id, this.baseFromReply(reply));
        return 'retry';
      case 'skip':
        return 'retry';
      case 'limit':
        write.reject(new StoreLimitError(`store '${this.store}' holds ${reply.count + this.counts.others(this.keys.group)} entries, its limit (${this.entryLimit([item])}); remove entries, or raise maxEntries`));
        return undefined;
      case 'same':
        write.reject(item.localError!);
        return undefined;
      default:
        write.reject(new Error(`unexpected answer '${reply.outcome}' from the store's write script`));
        return undefined;
    }
  }

  /** Drops remembered writes this process's copy already shows (or, for a store it does not read, all past a bound). */
  private forgetSeen(): void {
    if (this.recent.size < MAX_REMEMBERED) return;
    const held = this.held();
    if (!held) return this.recent.clear();
    for (const [id, base] of this.recent) if (compareStreamIds(base.asOf ?? base.version, held.position) <= 0) this.recent.delete(id);
  }

  private baseFromReply(reply: ScriptReply): Base {
    const { version, data, asOf } = reply;
    if (version === ABSENT || !data?.length) return { version: ABSENT, asOf };
    const entry: Entry = { doc: decode(data) };
    if (reply.expiry) entry.expiresAt = Number(reply.expiry);
    return { entry, version, asOf };
  }

  /**
   * Read-your-writes: a batch's callers hear back once this process's copy shows its newest write
   * (when it reads the store; a process that only writes has nothing to wait for).
   */
  private whenVisible(newest: string, writes: Array<[QueuedWrite, WriteResult]>): void {
    const settle = () => {
      for (const [write, result] of writes) write.resolve(result);
    };
    const waiting = this.held()?.reached(newest);
    if (!waiting) return settle();
    const late = setTimeout(() => {
      log.warn('store.feed_slow', { store: this.store, version: newest, waitedMs: FEED_WAIT_MS, note: 'the writes are in Redis; this process has not read them back from the feed yet' });
      settle();
    }, FEED_WAIT_MS);
    void waiting.then(() => {
      clearTimeout(late);
      settle();
    });
  }

  private entryLimit(planned: PlannedWrite[]): number {
    for (const item of planned) if (item.write.request.maxEntries !== undefined) return item.write.request.maxEntries;
    return storeLimits().maxEntriesPerStore;
  }

  /** The batch got no answer. Refused before it ran (a replica, loading): retry; else its outcome is unknown. */
  private async failed(planned: PlannedWrite[], error: Error): Promise<void> {
    for (const item of planned) if (item.write.request.id !== undefined) this.recent.delete(item.write.request.id);
    if (isDefinitelyNotRun(error)) {
      let again = planned.map((item) => item.write);
      if (isReadOnly(error)) {
        await this.connections.followMaster().catch((e: Error) => log.debug('store.follow_master_failed', { error: e.message }));
      } else {
        // Redis is not serving (cluster down, loading its data): fail fast once the write has waited a while.
        const oldest = Date.now() - UNAVAILABLE_RETRY_MS;
        for (const write of again) if (write.madeAt <= oldest) write.reject(unavailable(this.connections, write.request, false, describeFailure(error)));
        again = again.filter((write) => write.madeAt > oldest);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
      this.queue.unshift(...again);
      return;
    }
    log.debug('store.write_failed', { store: this.store, error: describeFailure(error) });
    for (const item of planned) item.write.reject(unavailable(this.connections, item.write.request, true, describeFailure(error), error));
  }
}

/** One write's answer from the script (write-script.ts), with the batch's entry id filled in for '' versions. */
interface ScriptReply {
  outcome: string;
  version: string;
  expiry: string;
  /** The document: removed (ok of a remove), or current (exists, conflict). */
  data?: Buffer;
  /** conflict: the feed position the answer is true at. */
  asOf?: string;
  /** limit: the entries the group holds. */
  count: number;
}

function scriptReply(raw: unknown, entry: string): ScriptReply {
  if (typeof raw === 'number') return { outcome: 'ok', version: entry, expiry: '', count: 0 };
  const parts = raw as Array<Buffer | number>;
  const outcome = String(parts[0]);
  const text = (i: number) => (parts[i] === undefined ? '' : String(parts[i]));
  switch (outcome) {
    case 'ok':
      return { outcome, version: entry, expiry: text(2), data: parts[3] as Buffer | undefined, count: 0 };
    case 'exists':
    case 'conflict':
      return {
        outcome, version: text(1) || entry, data: parts[2] as Buffer, expiry: text(3), count: 0,
        // A conflict is true as of the newest entry, this batch's own when it added one.
        asOf: outcome === 'conflict' ? entry || text(4) : undefined,
      };
    case 'limit':
      return { outcome, version: '', expiry: '', count: Number(parts[1]) };
    default:
      return { outcome, version: '', expiry: '', count: 0 };
  }
}

const APPLIED: WriteResult = Object.freeze({ outcome: 'applied' });
const NOT_EXISTS: WriteResult = Object.freeze({ outcome: 'notExists' });
