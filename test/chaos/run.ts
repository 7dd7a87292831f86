/**
 * `npm run chaos -- --servers 4 --seed 42 --minutes 5` (or `--seconds 60`; `--settle-seconds 60`: how long
 * the replicas get to agree after the heal): runs the chaos test
 * (test/chaos/chaos.ts) and prints per property what held; exits 1 when one did not, with the
 * seed and the event history. Needs root (network namespaces, iptables).
 */
import { runChaos } from './chaos.js';

function option(name: string, fallback: number): number {
  const at = process.argv.indexOf(`--${name}`);
  if (at === -1) return fallback;
  const value = Number(process.argv[at + 1]);
  if (!Number.isFinite(value) || value < 0) throw new Error(`--${name} needs a number, got ${process.argv[at + 1]}`);
  return value;
}

const servers = option('servers', 4);
const seed = option('seed', Math.floor(Math.random() * 2 ** 31));
const seconds = process.argv.includes('--seconds') ? option('seconds', 60) : option('minutes', 1) * 60;
const settleSeconds = option('settle-seconds', 60);
const result = await runChaos({ servers, seed, seconds, settleSeconds });
console.log(`\nchaos run: ${servers} servers, seed ${seed}, ${seconds} s`);
console.log(`faults:     ${Object.entries(result.faults).map(([k, v]) => `${k} ×${v}`).join(', ') || 'none'}`);
console.log(`operations: ${Object.entries(result.operations).map(([k, v]) => `${k} ×${v}`).join(', ')}`);
for (const p of result.properties) console.log(`${p.held ? 'HELD  ' : 'FAILED'} ${p.name}: ${p.detail}`);
if (!result.ok) {
  console.log(`\nFAILED with seed ${seed} (rerun with --seed ${seed}); minimal event history (the faults, and every operation on the broken ids with the fewest operations):`);
  for (const line of result.minimalHistory) console.log(`  ${line}`);
}
process.exit(result.ok ? 0 : 1);
