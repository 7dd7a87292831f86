import { CommandFixture } from './process-harness.js';

/** Drives test/fixtures/cpu-app.ts: run commands in the master or a worker, await their results. */
export class CpuApp extends CommandFixture {
  constructor(env: Record<string, string> = {}) {
    super('test/fixtures/cpu-app.ts', [], env);
  }

  async ready(): Promise<void> {
    await this.waitFor((e) => e.event === 'ready' && e.worker === 0);
  }

  /** The pid currently serving each worker id (latest 'started' event). */
  pids(): Map<number, number> {
    const map = new Map<number, number>();
    for (const e of this.events) if (e.event === 'started') map.set(e.worker!, e.pid!);
    return map;
  }
}
