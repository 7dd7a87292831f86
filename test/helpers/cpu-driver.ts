import { FixtureProcess, type FixtureEvent } from './process-harness.js';

/** Drives test/fixtures/cpu-app.ts: run commands in the master or a worker, await their results. */
export class CpuApp extends FixtureProcess {
  private nextId = 1;

  constructor(env: Record<string, string> = {}) {
    super('test/fixtures/cpu-app.ts', [], env);
  }

  async ready(): Promise<void> {
    await this.waitFor((e) => e.event === 'ready' && e.worker === 0);
  }

  async run(command: Record<string, unknown>, timeoutMs?: number): Promise<FixtureEvent> {
    const id = this.nextId++;
    this.send(JSON.stringify({ id, ...command }));
    const [result] = await this.waitFor((e) => e.event === 'result' && e.id === id, 1, timeoutMs);
    return result;
  }

  /** The pid currently serving each worker id (latest 'started' event). */
  pids(): Map<number, number> {
    const map = new Map<number, number>();
    for (const e of this.events) if (e.event === 'started') map.set(e.worker!, e.pid!);
    return map;
  }
}
