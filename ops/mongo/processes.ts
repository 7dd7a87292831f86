/**
 * Starting and stopping mongod/mongos processes of this host: binaries, spawning, and waiting
 * for a port to open or close (the only reliable sign a mongod is up or gone).
 */
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { OpsError } from '../errors.js';

/** `MONGOD_BIN`/`MONGOS_BIN` (a path) win over the binary found on PATH. */
export function binaryFor(name: 'mongod' | 'mongos' | 'mongodump' | 'mongorestore', env: NodeJS.ProcessEnv = process.env): string {
  const variable = `${name.toUpperCase()}_BIN`;
  return env[variable] || name;
}

export interface RunResult {
  code: number | null;
  output: string;
}

/** Runs a command to completion, collecting its output (mongod --fork returns once it is up). */
export function runToEnd(argv: string[], options: { inherit?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(argv[0], argv.slice(1), { stdio: options.inherit ? 'inherit' : ['ignore', 'pipe', 'pipe'] });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    child.on('error', (error: NodeJS.ErrnoException) => {
      reject(error.code === 'ENOENT' ? new OpsError(`${argv[0]} not found: install MongoDB's binaries, or point ${argv[0].toUpperCase()}_BIN at them`) : error);
    });
    child.on('close', (code) => resolve({ code, output }));
  });
}

/** True when something accepts TCP connections on host:port. */
export function isListening(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const done = (value: boolean) => {
      socket.destroy();
      resolve(value);
    };
    socket.setTimeout(timeoutMs, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/** Polls until the port is in the wanted state; rejects after the deadline. */
export async function waitForPort(host: string, port: number, open: boolean, timeoutMs: number, intervalMs = 200): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while ((await isListening(host, port)) !== open) {
    if (Date.now() > deadline) throw new OpsError(`${host}:${port} still ${open ? 'closed' : 'open'} after ${Math.round(timeoutMs / 1000)} s`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** The pid a process wrote to its --pidfilepath, if the file exists. */
export function readPid(pidfile: string): number | undefined {
  if (!existsSync(pidfile)) return undefined;
  const pid = Number(readFileSync(pidfile, 'utf8').trim());
  return Number.isInteger(pid) && pid > 0 ? pid : undefined;
}

/** The last lines of a log file, to show why a process did not start. */
export function tail(path: string, lines = 15): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log file)';
  }
}

/** Quotes an argument for printing as a shell command line. */
export function shellQuote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}
