#!/usr/bin/env node
// The boxwire command. In a checkout (src/ present) it runs the TypeScript sources through tsx;
// in an installed package (only dist/ is shipped) it runs the compiled CLI.
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const source = new URL('../src/boot/cli.ts', import.meta.url);
if (existsSync(fileURLToPath(source))) {
  const { register } = await import('tsx/esm/api');
  register();
  await import(source.href);
} else {
  await import(new URL('../dist/src/boot/cli.js', import.meta.url).href);
}
