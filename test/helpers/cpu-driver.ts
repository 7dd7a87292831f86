import { CommandFixture } from './process-harness.js';

/** Drives test/fixtures/cpu-app.ts: run commands in the master or a worker, await their results. */
export class CpuApp extends CommandFixture {
  constructor(env: Record<string, string> = {}) {
    super('test/fixtures/cpu-app.ts', [], env);
  }

  /**
   * Waits for the master to report ready. If it does not in time, the app is stopped before the
   * error is thrown: a test that fails here has no `finally` to stop it yet, and a live fixture
   * tree would keep the test file (and the whole run) from ever exiting.
   */
  async ready(): Promise<void> {
    try {
      await this.waitFor((e) => e.event === 'ready' && e.worker === 0);
    } catch (error) {
      await this.stop();
      throw error;
    }
  }

  /** The pid currently serving each worker id (latest 'started' event). */
  pids(): Map<number, number> {
    const map = new Map<number, number>();
    for (const e of this.events) if (e.event === 'started') map.set(e.worker!, e.pid!);
    return map;
  }
}
