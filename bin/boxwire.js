#!/usr/bin/env node
// The boxwire command. Runs the built CLI when present (installed package), otherwise the
// TypeScript sources through tsx (a checkout).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const built = new URL('../dist/src/boot/cli.js', import.meta.url);
if (existsSync(fileURLToPath(built))) {
  await import(built.href);
} else {
  const { register } = await import('tsx/esm/api');
  register();
  await import(new URL('../src/boot/cli.ts', import.meta.url).href);
}
