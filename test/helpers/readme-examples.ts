/**
 * The runnable examples of the README and the manual pages under docs/, as they mark them
 * (see docs/readme-examples.md):
 *
 *   <!-- example: FILE [servers=a,b,c] -->     before a fenced code block: its text is FILE
 *   <!-- output: FILE [NAME=value …] [ends=itself] -->
 *                                               before a fenced block: lines a run of FILE prints
 *                                               (with NAME=value in its environment); `ends=itself`
 *                                               when the run exits on its own (no Ctrl-C is sent)
 *
 * This module finds them and sets up a fresh project in which they run as printed: `boxwire`
 * resolves to this checkout's sources (through a small package in the project's node_modules),
 * `node --import tsx FILE` works, and the addresses an example names are mapped to loopback.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface Example {
  file: string;
  code: string;
  /** Server names to start one process each for (BOXWIRE_SERVER), or empty for one process. */
  servers: string[];
  /** The document it comes from, relative to the repository (`README.md`, `docs/cpu-clustering.md`). */
  source: string;
  /** 1-based line of the marker in that document, for messages. */
  line: number;
}

export interface ExpectedOutput {
  file: string;
  env: Record<string, string>;
  /** The run exits on its own once done: wait for that rather than send Ctrl-C (which could race its exit). */
  endsByItself: boolean;
  lines: string[];
  source: string;
  line: number;
}

const MARKER = /^<!--\s*(example|output):\s*(\S+)((?:\s+[\w.-]+=\S*)*)\s*-->\s*$/;
const FENCE = /^(```+|~~~+)/;

/** The documents whose examples run: README.md, then every docs/*.md, as repository-relative paths. */
export function documentPaths(repoRoot: string): string[] {
  const docs = readdirSync(join(repoRoot, 'docs')).filter((name) => name.endsWith('.md')).sort();
  return ['README.md', ...docs.map((name) => `docs/${name}`)];
}

/** Every marked example and output block of every document; example file names are unique across them. */
export function parseDocuments(repoRoot: string): { examples: Example[]; outputs: ExpectedOutput[] } {
  const examples: Example[] = [];
  const outputs: ExpectedOutput[] = [];
  for (const source of documentPaths(repoRoot)) {
    const found = parseReadme(readFileSync(join(repoRoot, source), 'utf8'), source);
    examples.push(...found.examples);
    outputs.push(...found.outputs);
  }
  return { examples, outputs };
}

/**
 * Finds every marked block of one document; a marker not followed by a fenced block is an error.
 * Markers inside an unmarked fenced block (a page showing how to mark one) are text, not markers.
 */
export function parseReadme(text: string, source = 'README.md'): { examples: Example[]; outputs: ExpectedOutput[] } {
  const lines = text.split('\n');
  const examples: Example[] = [];
  const outputs: ExpectedOutput[] = [];
  for (let i = 0; i < lines.length; i++) {
    const opening = FENCE.exec(lines[i].trim());
    if (opening) {
      i = closingFence(lines, i, opening[1]);
      continue;
    }
    const marker = MARKER.exec(lines[i].trim());
    if (!marker) {
      if (/^<!--\s*(example|output)\b/.test(lines[i].trim())) throw new Error(`${source}:${i + 1}: malformed marker ${lines[i]}`);
      continue;
    }
    const [, kind, file, rest] = marker;
    const attributes = Object.fromEntries(rest.trim().split(/\s+/).filter(Boolean).map((pair) => [pair.slice(0, pair.indexOf('=')), pair.slice(pair.indexOf('=') + 1)]));
    const fence = /^(```+)\w*\s*$/.exec(lines[i + 1] ?? '');
    if (!fence) throw new Error(`${source}:${i + 1}: the ${kind} marker must be followed directly by a fenced code block`);
    const end = lines.findIndex((l, j) => j > i + 1 && l.trim() === fence[1]);
    if (end < 0) throw new Error(`${source}:${i + 2}: unterminated code block`);
    const body = lines.slice(i + 2, end);
    if (kind === 'example') {
      const { servers, ...unknown } = attributes;
      if (Object.keys(unknown).length) throw new Error(`${source}:${i + 1}: unknown example attribute(s) ${Object.keys(unknown).join(', ')}`);
      examples.push({ file, code: body.join('\n') + '\n', servers: servers ? servers.split(',') : [], source, line: i + 1 });
    } else {
      const { ends, ...env } = attributes;
      if (ends !== undefined && ends !== 'itself') throw new Error(`${source}:${i + 1}: ends= takes only "itself"`);
      outputs.push({ file, env, endsByItself: ends === 'itself', lines: body.filter((l) => l.trim() !== ''), source, line: i + 1 });
    }
    i = end;
  }
  return { examples, outputs };
}

/** The index of the line closing the fenced block opened at `start` (CommonMark: same character, at least as long, no info string). */
export function closingFence(lines: string[], start: number, opening: string): number {
  const closing = new RegExp(`^${opening[0] === '`' ? '`' : '~'}{${opening.length},}\\s*$`);
  for (let j = start + 1; j < lines.length; j++) if (closing.test(lines[j].trim())) return j;
  return lines.length;
}

/**
 * Replaces every non-loopback IPv4 address in the code by a loopback one, in order of first
 * appearance: `10.0.0.1` → `<base>.2`, the next → `<base>.3`, … (`:port` suffixes are kept).
 */
export function mapHostsToLoopback(code: string, base: string): { code: string; mapping: Record<string, string> } {
  const mapping: Record<string, string> = {};
  const mapped = code.replace(/\b(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})\b/g, (address, first) => {
    if (first === '127') return address;
    mapping[address] ??= `${base}.${Object.keys(mapping).length + 2}`;
    return mapping[address];
  });
  return { code: mapped, mapping };
}

/**
 * A fresh project folder in which `import … from 'boxwire'` (and 'boxwire/global') loads this
 * checkout's sources, as an installed package would load dist/. It lives under the repository
 * so that `node --import tsx` and `@types/node` resolve from the checkout's node_modules.
 */
export function createExampleProject(repoRoot: string, dir: string): void {
  const shim = join(dir, 'node_modules', 'boxwire');
  mkdirSync(shim, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'readme-examples', private: true, type: 'module' }, null, 2));
  writeFileSync(join(shim, 'package.json'), JSON.stringify({ name: 'boxwire', type: 'module', exports: { '.': './index.ts', './global': './global.ts' } }, null, 2));
  writeFileSync(join(shim, 'index.ts'), `export * from ${JSON.stringify(join(repoRoot, 'src', 'index.ts'))};\n`);
  writeFileSync(join(shim, 'global.ts'), `export * from ${JSON.stringify(join(repoRoot, 'src', 'global.ts'))};\n`);
  // `tsc --strict`, as a new TypeScript project would have it.
  writeFileSync(join(dir, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', strict: true, noEmit: true,
      allowImportingTsExtensions: true, skipLibCheck: true, types: ['node'], typeRoots: [join(repoRoot, 'node_modules', '@types')],
    },
    include: ['*.ts'],
  }, null, 2));
}
