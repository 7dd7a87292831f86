/**
 * Starts a fixture script as a real process (`node --import tsx file`) and reads the events it
 * reports on stdout (lines starting with `@@`, see test/fixtures/report.ts). Tests wait for
 * events with generous deadlines; nothing here sleeps.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';

export const repoRoot = join(import.meta.dirname, '..', '..');

export interface FixtureEvent {
  event: string;
  worker?: number;
  pid?: number;
  [key: string]: any;
}

export class FixtureProcess {
  readonly child: ChildProcess;
  readonly events: FixtureEvent[] = [];
  stderr = '';
  stdout = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  private waiters: Array<() => void> = [];

  constructor(file: string, args: string[] = [], env: Record<string, string> = {}) {
    // BOXWIRE_FIXTURE_NODE_ARGS: extra Node flags for fixtures (e.g. "--cpu-prof --cpu-prof-dir=/tmp/p"
    // to profile a benchmark; cluster workers inherit them).
    const nodeArgs = (process.env.BOXWIRE_FIXTURE_NODE_ARGS ?? '').split(' ').filter(Boolean);
    this.child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', join(repoRoot, file), ...args], {
      cwd: repoRoot,
      env: { ...process.env, BOXWIRE_LOG: process.env.BOXWIRE_LOG ?? 'warn', ...env },
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let buffered = '';
    this.child.stdout!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stdout += chunk;
      buffered += chunk;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const at = line.indexOf('@@');
        if (at >= 0) this.events.push(JSON.parse(line.slice(at + 2)));
      }
      this.notify();
    });
    this.child.stderr!.setEncoding('utf8').on('data', (chunk: string) => {
      this.stderr += chunk;
      if (process.env.BOXWIRE_TEST_VERBOSE) process.stderr.write(chunk);
      this.notify();
    });
    this.exited = new Promise((resolve) => this.child.on('exit', (code, signal) => {
      this.notify();
      resolve({ code, signal });
    }));
  }

  /** Resolves with the events matching `predicate` once there are at least `count` of them. */
  async waitFor(predicate: (e: FixtureEvent) => boolean, count = 1, timeoutMs = 20_000): Promise<FixtureEvent[]> {
    return this.until(() => {
      const found = this.events.filter(predicate);
      return found.length >= count ? found : undefined;
    }, timeoutMs, () => `waiting for ${count} event(s) matching ${predicate.toString()}`);
  }

  waitForEvent(name: string, count = 1, timeoutMs?: number): Promise<FixtureEvent[]> {
    return this.waitFor((e) => e.event === name, count, timeoutMs);
  }

  /** Waits until `check` returns something other than undefined. */
  async until<T>(check: () => T | undefined, timeoutMs = 20_000, what: () => string = () => 'condition'): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const value = check();
      if (value !== undefined) return value;
      const left = deadline - Date.now();
      if (left <= 0 || this.child.exitCode !== null || this.child.signalCode !== null) {
        const final = check();
        if (final !== undefined) return final;
        throw new Error(`${what()} — gave up (exit ${this.child.exitCode ?? this.child.signalCode ?? 'running'})\nevents: ${JSON.stringify(this.events).slice(-3000)}\nstderr: ${this.stderr.slice(-3000)}`);
      }
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.min(left, 1000));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  send(line: string): void {
    this.child.stdin!.write(line + '\n');
  }

  kill(signal: NodeJS.Signals = 'SIGTERM'): void {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
  }

  /** Stops the process (SIGTERM, then SIGKILL after a while) and waits for it. */
  async stop(): Promise<void> {
    this.kill('SIGTERM');
    const timer = setTimeout(() => this.kill('SIGKILL'), 15_000);
    await this.exited;
    clearTimeout(timer);
  }

  private notify(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }
}

/**
 * A fixture that takes JSON commands on stdin (test/fixtures/commands.ts): `run` sends one and
 * resolves with its `result` event. `from` defaults to 0 (the master, or the only process).
 */
export class CommandFixture extends FixtureProcess {
  private nextId = 1;

  constructor(file: string, args: string[] = [], env: Record<string, string> = {}, private readonly commandTimeoutMs = 30_000) {
    super(file, args, env);
  }

  async run(command: Record<string, unknown>, timeoutMs = this.commandTimeoutMs): Promise<FixtureEvent> {
    const id = this.nextId++;
    this.send(JSON.stringify({ from: 0, id, ...command }));
    const [result] = await this.waitFor((e) => e.event === 'result' && e.id === id, 1, timeoutMs);
    return result;
  }
}
