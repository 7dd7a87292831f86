// The boxes layer on its own (src/boxes/): defineBox's load-time checks, loading boxes from
// folders, a box's namespaced stores on the real in-memory SHARED_STORE, onBoot order and
// failure, and which methods and rooms a box really has (never an inherited name). Boxes served
// to clients are tested end to end in test/roles/ (API, rooms, static files).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Box, defineBox, getBox, loadedBoxes } from '../../src/boxes/index.js';
import { bootBoxes, findBoxEntry, loadBoxes } from '../../src/boxes/box-registry.js';
import { installStoreFactory } from '../../src/boxes/box-store.js';
import { ConfigError } from '../../src/core/errors.js';
import { SHARED_STORE } from '../../src/store/index.js';
import { tempDir } from '../ops/helpers.js';

/** Writes boxes/<name>/index.mjs with the given module text; returns the boxes folder. */
function writeBox(boxesDir: string, name: string, moduleText: string): string {
  mkdirSync(join(boxesDir, name), { recursive: true });
  writeFileSync(join(boxesDir, name, 'index.mjs'), moduleText);
  return boxesDir;
}

function configError(fn: () => unknown, expected: RegExp): void {
  try {
    fn();
  } catch (error) {
    assert.instance(error, ConfigError);
    assert.match((error as Error).message, expected);
    return;
  }
  assert.unreachable(`no error, expected ${expected}`);
}

test('a box store asked for before boot() installed the engine is a clear error, not a silent local map', () => {
  const box = new Box(defineBox({ name: 'early' }), '/nowhere');
  configError(() => box.SHARED_STORE('counts'), /store 'early\.counts' was asked for before boot\(\) installed the store engine/);
});

test('defineBox: a good definition is returned as is', () => {
  const definition = { name: 'shop', methods: { 'cart.add': () => 1, list: () => [] }, rooms: ['news'], onBoot: () => undefined };
  assert.is(defineBox(definition), definition);
});

test('defineBox: every mistake is a ConfigError naming the box and the part', () => {
  configError(() => defineBox(null as never), /definition must be an object/);
  configError(() => defineBox({ name: '1st' }), /name must be a box name/);
  configError(() => defineBox({ name: '__proto__' }), /name must be a box name/);
  configError(() => defineBox({ name: 'shop', methods: { 'a b': () => 1 } }), /box 'shop': method name 'a b'/);
  configError(() => defineBox({ name: 'shop', methods: { 'cart.constructor': () => 1 } }), /method name 'cart\.constructor'.*no segment __proto__, prototype or constructor/);
  configError(() => defineBox({ name: 'shop', methods: { add: 'nope' as never } }), /box 'shop': methods\.add must be a function/);
  configError(() => defineBox({ name: 'shop', rooms: ['ok', 'prototype'] }), /box 'shop': room name 'prototype'/);
  configError(() => defineBox({ name: 'shop', rooms: { 'bad room': {} } }), /room name 'bad room'/);
  configError(() => defineBox({ name: 'shop', authorize: true as never }), /box 'shop': authorize must be a function/);
  configError(() => defineBox({ name: 'shop', onBoot: {} as never }), /box 'shop': onBoot must be a function/);
});

test('a box has only its own methods and rooms: inherited names are never found', () => {
  const listed = new Box(defineBox({ name: 'listed', methods: { ping: () => 'pong' }, rooms: ['lobby'] }), '/x');
  assert.ok(listed.hasMethod('ping'));
  for (const name of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'pong']) assert.not.ok(listed.hasMethod(name), name);
  assert.ok(listed.hasRoom('lobby'));
  for (const name of ['length', 'constructor', 'push', 'lobby2']) assert.not.ok(listed.hasRoom(name), name);
  const hooked = new Box(defineBox({ name: 'hooked', rooms: { chat: { onJoin: () => true } } }), '/x');
  assert.ok(hooked.hasRoom('chat'));
  for (const name of ['toString', 'constructor', '__proto__', 'valueOf']) assert.not.ok(hooked.hasRoom(name), name);
});

test('loading: the first folder holding the box wins; index.js, index.mjs or index.ts; loaded once', async () => {
  const first = writeBox(tempDir('boxes-a'), 'alpha', `export default { name: 'alpha', methods: { where: () => 'first' } };`);
  const second = writeBox(tempDir('boxes-b'), 'alpha', `export default { name: 'alpha', methods: { where: () => 'second' } };`);
  writeBox(second, 'beta', `export default { name: 'beta' };`);
  const [alpha, beta] = await loadBoxes([first, second], ['alpha', 'beta']);
  assert.is(alpha.definition.methods!.where({}, undefined as never), 'first');
  assert.is(alpha.dir, join(first, 'alpha'));
  assert.is(beta.dir, join(second, 'beta'));
  assert.is(getBox('alpha'), alpha);
  assert.ok(loadedBoxes().includes(beta));
  const [again] = await loadBoxes([second], ['alpha']);
  assert.is(again, alpha, 'a box is loaded once per process');
  assert.is(findBoxEntry([first, second], 'beta'), join(second, 'beta', 'index.mjs'));
});

test('loading: a missing box, a module without a default export, a name that does not match, a bad definition', async () => {
  const dir = tempDir('boxes-bad');
  configError(() => findBoxEntry([dir], 'ghost'), new RegExp(`box 'ghost' not found: no ${join(dir, 'ghost', 'index.js').replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}`));
  writeBox(dir, 'nodefault', `export const name = 'nodefault';`);
  writeBox(dir, 'renamed', `export default { name: 'other' };`);
  writeBox(dir, 'broken', `export default { name: 'broken', methods: { go: 42 } };`);
  for (const [name, expected] of [['nodefault', /box 'nodefault': .*has no default export/], ['renamed', /defines a box named 'other'; the folder and the name must match/], ['broken', /box 'broken': methods\.go must be a function/]] as const) {
    try {
      await loadBoxes([dir], [name]);
      assert.unreachable(`${name} loaded`);
    } catch (error) {
      assert.instance(error, ConfigError, name);
      assert.match((error as Error).message, expected);
    }
    assert.is(getBox(name), undefined, `${name} is not registered`);
  }
});

test("box.SHARED_STORE('x') is the cluster-wide store '<box>.x' (real in-memory engine)", async () => {
  installStoreFactory((name) => SHARED_STORE(name));
  const shop = new Box(defineBox({ name: 'shop' }), '/x');
  const blog = new Box(defineBox({ name: 'blog' }), '/x');
  const carts = shop.SHARED_STORE('carts');
  assert.is(shop.SHARED_STORE('carts'), carts, 'one store object per name');
  await carts.save({ id: 'c1', data: { items: 2 } });
  await blog.SHARED_STORE('carts').save({ id: 'c1', data: { items: 9 } });
  assert.equal(await SHARED_STORE('shop.carts').get('c1'), { items: 2 });
  assert.equal(await SHARED_STORE('blog.carts').get('c1'), { items: 9 });
  assert.equal(await carts.get('c1'), { items: 2 }, 'another box with the same store name has its own data');
  assert.equal(shop.storeNames(), ['shop.carts']);
  assert.throws(() => shop.SHARED_STORE(''), /needs a non-empty name/);
});

test('onBoot runs for each box in order, gets its box, and a failing hook stops with its error', async () => {
  const calls: string[] = [];
  const make = (name: string, fail = false) => new Box(defineBox({
    name,
    onBoot: async (box: Box) => {
      calls.push(box.name);
      if (fail) throw new Error(`${name} cannot start`);
    },
  }), '/x');
  await bootBoxes([make('one'), make('two')]);
  assert.equal(calls, ['one', 'two']);
  calls.length = 0;
  try {
    await bootBoxes([make('first'), make('bad', true), make('never')]);
    assert.unreachable('boot went on');
  } catch (error) {
    assert.is((error as Error).message, 'bad cannot start');
  }
  assert.equal(calls, ['first', 'bad'], 'boxes after the failing one do not boot');
});

test.run();
