/**
 * What a chaos run leaves behind when it is killed with -9 (no exit handler runs): its network
 * namespaces (with the boxwire servers still running inside them), its bridge and veth links, its
 * temporary directory. Every name carries the owning run's pid (see runNames), so a new run removes
 * only the leftovers of runs whose process is gone — two runs at once never destroy each other.
 */
import { execFileSync } from 'node:child_process';
import { readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** Namespace `bwchaos-<pid36>-<nonce>-s<n>`; links `bwc<pid36>-<nonce>br` / `v<n>` / `v<n>p`; dir `boxwire-chaos-<pid>-…`. */
const NAMESPACE = /^bwchaos-([0-9a-z]+)-[0-9a-z]+-s\d+$/;
const LINK = /^bwc([0-9a-z]+)-[0-9a-z]+(?:br|v\d+p?)$/;
const DIR = /^boxwire-chaos-(\d+)-/;
/** Directories of the older naming (no pid): removed once this old, as no run lasts that long. */
const LEGACY_DIR = /^boxwire-chaos-[A-Za-z0-9]{6}$/;
const LEGACY_DIR_AGE_MS = 6 * 3600_000;

/** The names of one run's resources; `pid` is the run's process. Interface names fit Linux's 15 bytes. */
export function runNames(pid: number, nonce: string): { tag: string; dirPrefix: string } {
  return { tag: `${pid.toString(36)}-${nonce}`, dirPrefix: join(tmpdir(), `boxwire-chaos-${pid}-`) };
}

export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface Swept { namespaces: string[]; links: string[]; dirs: string[]; processes: number[] }

/** Removes the leftovers of dead runs; returns what it removed. Needs root for the network part. */
export function sweepLeftovers(alive: (pid: number) => boolean = processAlive): Swept {
  const swept: Swept = { namespaces: [], links: [], dirs: [], processes: [] };
  const deadOwner = (pid36: string) => !alive(Number.parseInt(pid36, 36));
  for (const ns of listNamespaces()) {
    const owner = NAMESPACE.exec(ns)?.[1];
    if (!owner || !deadOwner(owner)) continue;
    // The dead run's servers still run inside: kill them (by pid) before the namespace goes.
    for (const pid of namespacePids(ns)) {
      try {
        process.kill(pid, 'SIGKILL');
        swept.processes.push(pid);
      } catch {
        // Gone meanwhile.
      }
    }
    if (quiet(() => ip('netns', 'del', ns))) swept.namespaces.push(ns);
  }
  for (const link of listLinks()) {
    const owner = LINK.exec(link)?.[1];
    if (owner && deadOwner(owner) && quiet(() => ip('link', 'del', link))) swept.links.push(link);
  }
  for (const name of readdirSync(tmpdir())) {
    const owner = DIR.exec(name)?.[1];
    const path = join(tmpdir(), name);
    const stale = owner ? !alive(Number(owner)) : LEGACY_DIR.test(name) && Date.now() - mtimeMs(path) > LEGACY_DIR_AGE_MS;
    if (stale && quiet(() => rmSync(path, { recursive: true, force: true }))) swept.dirs.push(path);
  }
  return swept;
}

function listNamespaces(): string[] {
  return execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((line) => line.split(' ')[0]).filter(Boolean);
}

function listLinks(): string[] {
  // `ip -o link` lines: "7: bwcabc-1br: <…" or "8: bwcabc-1v1@if2: <…".
  return execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' }).split('\n').map((line) => line.split(': ')[1]?.split('@')[0]).filter((name): name is string => Boolean(name));
}

function namespacePids(ns: string): number[] {
  try {
    return execFileSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' }).split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

function mtimeMs(path: string): number {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return Date.now();
  }
}

function ip(...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] });
}

function quiet(run: () => void): boolean {
  try {
    run();
    return true;
  } catch {
    return false;
  }
}
