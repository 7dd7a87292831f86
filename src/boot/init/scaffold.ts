/**
 * `boxwire init DIR`: writes a new, runnable TypeScript app into DIR from the template shipped
 * with the package (`templates/app`): package.json with boxwire as a dependency, cluster.json for
 * one server, one box written with defineBox (a method, a room, a store, a page), a test that
 * starts the app and calls the method, and a README.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { basename, join, relative, resolve } from 'node:path';
import { ConfigError } from '../../core/errors.js';
import { packageInfo } from '../../config/index.js';

/** npm's rules for a new package name: lowercase, URL-safe, at most 214 characters. */
const PACKAGE_NAME = /^(?:@[a-z0-9][a-z0-9._-]*\/)?[a-z0-9][a-z0-9._-]*$/;

/** Template files whose name npm would drop or rename when packing (`.gitignore`). */
const RENAMED: Record<string, string> = { gitignore: '.gitignore' };

export interface ScaffoldResult {
  dir: string;
  name: string;
  files: string[];
}

/**
 * Creates the app in `target` (relative to `cwd`); the package name is the folder's name unless
 * `name` is given. Refuses a folder that exists and is not empty, and a name npm would refuse.
 */
export function scaffoldApp(target: string, options: { name?: string; cwd?: string } = {}): ScaffoldResult {
  const dir = resolve(options.cwd ?? process.cwd(), target);
  const name = options.name ?? basename(dir);
  if (!PACKAGE_NAME.test(name) || name.length > 214) {
    throw new ConfigError(`boxwire init: '${name}' is not a valid npm package name (lowercase letters, digits, '-', '_' and '.'); pick another folder name or pass --name`);
  }
  if (existsSync(dir) && (!statSync(dir).isDirectory() || readdirSync(dir).length > 0)) {
    throw new ConfigError(`boxwire init: ${dir} already exists and is not an empty folder; nothing was written`);
  }
  const { version, root } = packageInfo();
  const template = join(root, 'templates', 'app');
  const values: Record<string, string> = { name, boxwireVersion: version };
  const files: string[] = [];
  mkdirSync(dir, { recursive: true });
  for (const source of listFiles(template)) {
    const path = relative(template, source).split('/').map((part) => RENAMED[part] ?? part).join('/');
    const text = readFileSync(source, 'utf8').replace(/\{\{(\w+)\}\}/g, (whole, key: string) => values[key] ?? whole);
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
    files.push(path);
  }
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify(appPackageJson(name, version), null, 2)}\n`);
  files.push('package.json');
  return { dir, name, files: files.sort() };
}

/**
 * The app's package.json. tsx runs the TypeScript (boxes included, in every forked worker);
 * Node's own test runner runs the test, so `npm test` needs nothing more.
 */
function appPackageJson(name: string, boxwireVersion: string): Record<string, unknown> {
  const own = packageInfo().manifest as {
    engines?: { node?: string };
    dependencies?: Record<string, string>;
    devDependencies?: Record<string, string>;
    allowScripts?: Record<string, boolean>;
  };
  return {
    name,
    version: '0.1.0',
    private: true,
    type: 'module',
    engines: { node: own.engines?.node ?? '>=20.11' },
    scripts: {
      start: 'node --import tsx server.ts',
      test: 'node --import tsx --test test/app.test.ts',
      typecheck: 'tsc -p tsconfig.json',
    },
    dependencies: {
      boxwire: `^${boxwireVersion}`,
      tsx: own.dependencies?.tsx ?? '^4.0.0',
    },
    devDependencies: {
      '@types/node': own.devDependencies?.['@types/node'] ?? '^20.0.0',
      typescript: own.devDependencies?.typescript ?? '^5.0.0',
    },
    // The install scripts boxwire's own dependencies need (tsx's esbuild, msgpackr's native build).
    ...(own.allowScripts ? { allowScripts: own.allowScripts } : {}),
  };
}

function listFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const path = join(dir, entry.name);
    return entry.isDirectory() ? listFiles(path) : [path];
  });
}
