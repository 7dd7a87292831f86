/**
 * The boxes this process loaded, by name. Boxes live in `boxes/<name>/index.js` (plain ESM, no
 * build step) or `index.ts`; the module's default export is a box definition (or `defineBox(…)`).
 */
import { existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError } from '../core/errors.js';
import { log } from '../core/logger.js';
import { Box } from './box.js';
import { defineBox, type BoxDefinition } from './define-box.js';

const boxes = new Map<string, Box>();

export function getBox(name: string): Box | undefined {
  return boxes.get(name);
}

export function loadedBoxes(): Box[] {
  return [...boxes.values()];
}

/**
 * Loads each named box, in order, from the first of `boxesDirs` holding a folder of that name.
 * Throws a ConfigError naming what is wrong.
 */
export async function loadBoxes(boxesDirs: string[], names: string[]): Promise<Box[]> {
  const loaded: Box[] = [];
  for (const name of names) {
    if (boxes.has(name)) {
      loaded.push(boxes.get(name)!);
      continue;
    }
    const entry = findBoxEntry(boxesDirs, name);
    const dir = dirname(entry);
    const module = (await import(pathToFileURL(entry).href)) as { default?: BoxDefinition };
    if (!module.default) throw new ConfigError(`box '${name}': ${entry} has no default export (export default { name: '${name}', methods: { … } })`);
    const definition = defineBox(module.default);
    if (definition.name !== name) throw new ConfigError(`box '${name}': ${entry} defines a box named '${definition.name}'; the folder and the name must match`);
    const box = new Box(definition, dir);
    boxes.set(name, box);
    loaded.push(box);
  }
  return loaded;
}

/** The module file of box `name`; throws a ConfigError saying where it was looked for. */
export function findBoxEntry(boxesDirs: string[], name: string): string {
  const candidates = boxesDirs.flatMap((boxesDir) => ['index.js', 'index.mjs', 'index.ts'].map((file) => join(resolve(boxesDir, name), file)));
  const entry = candidates.find((file) => existsSync(file));
  if (!entry) throw new ConfigError(`boxes: box '${name}' not found: no ${boxesDirs.map((d) => join(resolve(d, name), 'index.js')).join(' or ')} (a box is a folder with an index.js whose default export is its definition)`);
  return entry;
}

/** Runs every loaded box's onBoot hook; a failing hook stops start-up with the box named. */
export async function bootBoxes(list: Box[]): Promise<void> {
  for (const box of list) {
    try {
      await box.definition.onBoot?.(box);
    } catch (error) {
      log.error('box.boot_failed', { box: box.name, error });
      throw error;
    }
  }
}
