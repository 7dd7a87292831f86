/**
 * This server's load figure, carried on every heartbeat so each server knows how busy the
 * others are (placement of DISTRIBUTE_PROCESS jobs, the front door's choice of server).
 */
import { availableParallelism, loadavg } from 'node:os';
import { performance, type EventLoopUtilization } from 'node:perf_hooks';

export interface ServerLoad {
  /** 1-minute load average divided by the core count: the whole machine, workers included. */
  cpu: number;
  /** Event-loop utilization (0..1) of the process that owns the links, since the last sample. */
  elu: number;
  /** Client connections, as reported by the roles that hold them (reportLoad). */
  connections: number;
  /** Sum of the complexities of DISTRIBUTE_PROCESS jobs running on this server. */
  jobs: number;
  /** Other figures a subsystem chose to publish through reportLoad. */
  [figure: string]: number;
}

const reported: Record<string, number> = { connections: 0, jobs: 0 };
let lastElu: EventLoopUtilization | undefined;

/** Sets figures of this server's load (e.g. `{ connections: 120 }`); they travel on the next heartbeat. */
export function reportLoad(figures: Record<string, number>): void {
  for (const [name, value] of Object.entries(figures)) {
    if (typeof value === 'number' && Number.isFinite(value)) reported[name] = value;
  }
}

/**
 * Event-loop use is measured over windows of at least a second and smoothed: every link's
 * heartbeat samples the load, and a window of a few milliseconds since another link's sample
 * reads 0 or 1 at random — noise that made idle servers look loaded to the front door.
 */
const ELU_WINDOW_MS = 1000;
let lastEluAt = 0;
let smoothedElu: number | undefined;

function eventLoopUse(): number {
  const at = performance.now();
  if (lastElu && smoothedElu !== undefined && at - lastEluAt < ELU_WINDOW_MS) return smoothedElu;
  const now = performance.eventLoopUtilization();
  const elu = lastElu ? performance.eventLoopUtilization(now, lastElu).utilization : now.utilization;
  lastElu = now;
  lastEluAt = at;
  smoothedElu = smoothedElu === undefined ? elu : smoothedElu / 2 + elu / 2;
  return smoothedElu;
}

/** Samples this server's load now. */
export function sampleLoad(): ServerLoad {
  const cpu = loadavg()[0] / availableParallelism();
  return { ...reported, cpu: round(cpu), elu: round(eventLoopUse()) } as ServerLoad;
}

function round(value: number): number {
  return Math.round(value * 1000) / 1000;
}
