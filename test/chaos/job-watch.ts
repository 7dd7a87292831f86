/**
 * The chaos run's view of DISTRIBUTE_PROCESS: every second it asks each live server which jobs its
 * process runs (and since when). A job may run twice only because links were down — a partition,
 * or a paused server declared down and its job placed again — since a running `work` cannot be
 * stopped from outside. So the checker flags a copy that *started* while another copy was running
 * and every link had been up for the whole failure-detection and placement window before.
 */
export interface JobsAnswer {
  pid: number;
  server: string;
  running: Record<string, number>;
}

/** Failure detector (5 s) + placement hold (3 s) + report period (2 s), with a margin. */
const LINKS_UP_WINDOW_MS = 15_000;

interface Copy {
  tag: string;
  where: string;
  startedAt: number;
  firstSeen: number;
  lastSeen: number;
}

export class JobWatch {
  private readonly copies = new Map<string, Copy>();
  /** [from, to] intervals during which some link was down (a partition, a paused or killed server). */
  private readonly linkFaults: Array<[number, number]> = [];
  private readonly open = new Map<string, number>();
  polls = 0;

  /** A fault that takes links down begins (`key` names it, to end it later). */
  linksDown(key: string): void {
    this.open.set(key, Date.now());
  }

  linksUp(key: string): void {
    const from = this.open.get(key);
    if (from === undefined) return;
    this.open.delete(key);
    this.linkFaults.push([from, Date.now()]);
  }

  observe(answers: JobsAnswer[]): void {
    this.polls++;
    const now = Date.now();
    for (const answer of answers) {
      for (const [tag, startedAt] of Object.entries(answer.running)) {
        const key = `${tag}@${answer.server}/${answer.pid}`;
        const copy = this.copies.get(key);
        if (copy) copy.lastSeen = now;
        else this.copies.set(key, { tag, where: `${answer.server}/${answer.pid}`, startedAt, firstSeen: now, lastSeen: now });
      }
    }
  }

  /** Copies that started while another copy of the same job ran and links had been up throughout. */
  check(): { jobs: number; copies: number; duplicates: string[] } {
    const copies = [...this.copies.values()];
    const duplicates: string[] = [];
    for (const copy of copies) {
      const other = copies.find((o) => o !== copy && o.tag === copy.tag && o.startedAt < copy.startedAt && o.lastSeen > copy.startedAt);
      if (!other) continue;
      if (this.linksWereDown(copy.startedAt - LINKS_UP_WINDOW_MS, copy.startedAt)) continue;
      duplicates.push(`${copy.tag} started on ${copy.where} while running on ${other.where} (links up)`);
    }
    return { jobs: new Set(copies.map((c) => c.tag)).size, copies: copies.length, duplicates };
  }

  private linksWereDown(from: number, to: number): boolean {
    const intervals = [...this.linkFaults, ...[...this.open.values()].map((start): [number, number] => [start, Infinity])];
    return intervals.some(([a, b]) => a <= to && b >= from);
  }
}
