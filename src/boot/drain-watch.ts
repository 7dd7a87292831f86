/**
 * "Drained" for a server behind load balancers: before a rolling restart or a graceful stop, the
 * master answers `/__READY` with 503 and waits until each load balancer that has been probing
 * it (any address that probed in the last 10 s) has been answered 503 at least DRAIN_CHECKS
 * times. The generated HAProxy config takes a server out after 2 failed checks (`fall 2`); the
 * default of 3 waits one check interval more, so a request the balancer dispatched just before
 * it marked this server down has arrived (and is answered) before any connection is closed. Without probes (no load balancer, or nginx,
 * whose open-source build only checks passively) there is nothing to wait for. The wait is
 * bounded by the drain timeout, so a prober that vanished cannot hold a stop forever.
 *
 * Settings (env): BOXWIRE_DRAIN_CHECKS (default 3; your balancer's `fall` + 1),
 * BOXWIRE_DRAIN_TIMEOUT_MS (default 15000).
 */
import { Channel } from '../core/envelope.js';
import { log } from '../core/logger.js';
import { processRole, sharedRegistries } from '../cpu/index.js';
import { setDrainer } from '../cpu/index.js';
import { recordProbesHere, type ReadyProbe } from '../roles/cluster/readiness.js';
import { RoleMethods } from '../roles/role-methods.js';

const RECENT_MS = 10_000;
const MAX_PROBERS = 256;

interface Prober {
  lastAt: number;
  notReady: number;
}

export class DrainWatch {
  private readonly probers = new Map<string, Prober>();
  private readonly waiters = new Set<() => void>();

  constructor(
    private readonly checks = positiveEnv('BOXWIRE_DRAIN_CHECKS', 3),
    private readonly timeoutMs = positiveEnv('BOXWIRE_DRAIN_TIMEOUT_MS', 15_000),
  ) {}

  /** Starts listening for probe reports and installs the drainer. */
  install(): void {
    if (processRole() === 'master') sharedRegistries()[Channel.System].on(RoleMethods.readyProbe, (probe: ReadyProbe) => this.record(probe));
    else recordProbesHere((probe) => this.record(probe));
    setDrainer((state) => this.drain(state));
  }

  record(probe: ReadyProbe): void {
    if (typeof probe?.address !== 'string') return;
    let prober = this.probers.get(probe.address);
    if (!prober) {
      if (this.probers.size >= MAX_PROBERS) this.forgetOldest();
      this.probers.set(probe.address, (prober = { lastAt: 0, notReady: 0 }));
    }
    prober.lastAt = Date.now();
    if (!probe.ready) prober.notReady++;
    for (const wake of this.waiters) wake();
  }

  async drain(state: string): Promise<void> {
    const started = Date.now();
    const watching = [...this.probers.entries()].filter(([, p]) => started - p.lastAt < RECENT_MS);
    if (watching.length === 0) return;
    for (const [, prober] of watching) prober.notReady = 0;
    log.info('server.draining', { state, probers: watching.map(([address]) => address), checks: this.checks });
    const done = () => watching.every(([, p]) => p.notReady >= this.checks);
    await new Promise<void>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(check);
        resolve();
      };
      const check = () => {
        if (done()) finish();
      };
      const timer = setTimeout(() => {
        log.warn('server.drain_timeout', { state, timeoutMs: this.timeoutMs, waitingFor: watching.filter(([, p]) => p.notReady < this.checks).map(([a]) => a) });
        finish();
      }, this.timeoutMs);
      this.waiters.add(check);
      check();
    });
    log.info('server.drained', { state, ms: Date.now() - started });
  }

  private forgetOldest(): void {
    let oldest: string | undefined;
    for (const [address, p] of this.probers) if (oldest === undefined || p.lastAt < this.probers.get(oldest)!.lastAt) oldest = address;
    if (oldest !== undefined) this.probers.delete(oldest);
  }
}

function positiveEnv(name: string, fallback: number): number {
  const value = Number(process.env[name]);
  return Number.isFinite(value) && value > 0 ? value : fallback;
}
