// Every code block marked as an example in README.md or a docs/*.md page (see
// docs/readme-examples.md) runs as printed in a fresh project — `node --import tsx FILE`, `boxwire` resolving to this checkout — and prints
// the lines the page states, with nothing on stderr; examples naming servers run one process
// per server with their addresses mapped to loopback. Every example also passes `tsc --strict`.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFile, spawn } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { repoRoot } from '../helpers/process-harness.js';
import { createExampleProject, documentPaths, mapHostsToLoopback, parseDocuments, type Example, type ExpectedOutput } from '../helpers/readme-examples.js';

const { examples, outputs } = parseDocuments(repoRoot);
const project = join(repoRoot, 'test-artifacts', `readme-examples-${process.pid}`);
// A loopback /24 of its own per run, so two runs of this test (or a demo) never share a port.
const loopbackBase = `127.0.${100 + Math.floor(Math.random() * 150)}`;
const clusterKey = 'readme-example-cluster-key-0123456789abcdef';
const mappings = new Map<string, Record<string, string>>();

test.before(() => {
  createExampleProject(repoRoot, project);
  for (const example of examples) {
    const { code, mapping } = example.servers.length ? mapHostsToLoopback(example.code, loopbackBase) : { code: example.code, mapping: {} };
    mappings.set(example.file, mapping);
    writeFileSync(join(project, example.file), code);
  }
});
test.after(() => rmSync(project, { recursive: true, force: true }));

test('the README and the docs mark their examples, and state the output of each', () => {
  assert.ok(examples.length >= 3, `found ${examples.length} examples`);
  const files = new Set(examples.map((e) => e.file));
  assert.is(files.size, examples.length, `example file names are unique across the documents: ${examples.map((e) => `${e.source}:${e.file}`).join(', ')}`);
  for (const output of outputs) assert.ok(files.has(output.file), `${output.source}:${output.line}: output of unknown example ${output.file}`);
  for (const output of outputs) {
    const example = examples.find((e) => e.file === output.file);
    if (example) assert.is(output.source, example.source, `${output.source}:${output.line}: the output of ${output.file} is stated on the page of its example`);
  }
  for (const example of examples) assert.ok(outputs.some((o) => o.file === example.file), `${example.source}:${example.line}: ${example.file} has no output block`);
  const servers = examples.find((e) => e.servers.length);
  assert.ok(servers, 'an example runs several servers');
  assert.ok(Object.keys(mappings.get(servers!.file)!).length === servers!.servers.length, `its hosts were mapped: ${JSON.stringify(mappings.get(servers!.file))}`);
});

test('the config the docs show as demo/cluster.json is that file', () => {
  const pages = documentPaths(repoRoot).map((source) => readFileSync(join(repoRoot, source), 'utf8'));
  const page = pages.find((text) => text.includes('`demo/cluster.json`, which'));
  assert.ok(page, 'a page shows `demo/cluster.json`, which …');
  const after = page!.slice(page!.indexOf('`demo/cluster.json`, which'));
  const block = /```json\n([\s\S]*?)\n```/.exec(after);
  assert.ok(block, 'a json block follows');
  const { '//': _comment, ...file } = JSON.parse(readFileSync(join(repoRoot, 'demo', 'cluster.json'), 'utf8'));
  assert.equal(JSON.parse(block![1]), file);
});

test('every example type-checks with tsc --strict in a new project', async () => {
  const tsc = join(repoRoot, 'node_modules', 'typescript', 'bin', 'tsc');
  try {
    await promisify(execFile)(process.execPath, [tsc, '-p', project], { cwd: project });
  } catch (error) {
    const { stdout, stderr } = error as { stdout: string; stderr: string };
    assert.unreachable(`tsc --strict failed:\n${stdout}${stderr}`);
  }
});

interface Run { name: string; stdout: string; stderr: string; code: number | null; signal: NodeJS.Signals | null }

/** Starts one process per server (or one), waits until the expected lines were all printed, stops them. */
async function runExample(example: Example, output: ExpectedOutput): Promise<Run[]> {
  const names = example.servers.length ? example.servers : [example.file];
  const children = names.map((name) => {
    const env: Record<string, string> = { ...process.env as Record<string, string>, BOXWIRE_LOG: 'warn', ...output.env };
    if (example.servers.length) Object.assign(env, { BOXWIRE_SERVER: name, BOXWIRE_CLUSTER_KEY: clusterKey });
    const child = spawn(process.execPath, ['--import', 'tsx', example.file], { cwd: project, env, stdio: ['ignore', 'pipe', 'pipe'] });
    const run: Run = { name, stdout: '', stderr: '', code: null, signal: null };
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (run.stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (run.stderr += chunk));
    const exited = new Promise<void>((resolve) => child.once('exit', (code, signal) => {
      Object.assign(run, { code, signal });
      resolve();
    }));
    return { child, run, exited };
  });
  const printed = () => children.flatMap(({ run }) => run.stdout.split('\n'));
  const missing = () => output.lines.filter((line) => !printed().includes(line));
  const deadline = Date.now() + 60_000;
  await new Promise<void>((resolve) => {
    const check = () => {
      const done = missing().length === 0 || children.some(({ run }) => run.code !== null || run.signal !== null) || Date.now() > deadline;
      if (!done) return;
      for (const { child } of children) {
        child.stdout.off('data', check);
        child.stderr.off('data', check);
      }
      clearTimeout(timer);
      resolve();
    };
    for (const { child } of children) {
      child.stdout.on('data', check);
      child.stderr.on('data', check);
      child.once('exit', check);
    }
    const timer = setTimeout(check, 60_000);
  });
  // Ctrl-C, as the page says: every process stops gracefully. A run that ends by itself is left
  // to do so (a Ctrl-C sent while it is already exiting can find its signal handlers torn down).
  if (!output.endsByItself) for (const { child } of children) if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
  const killer = setTimeout(() => children.forEach(({ child }) => child.kill('SIGKILL')), 20_000);
  await Promise.all(children.map(({ exited }) => exited));
  clearTimeout(killer);
  const runs = children.map(({ run }) => run);
  const report = runs.map((r) => `--- ${r.name} (exit ${r.code ?? r.signal})\nstdout:\n${r.stdout}\nstderr:\n${r.stderr}`).join('\n');
  assert.equal(missing(), [], `${output.source}:${output.line}: lines not printed by ${example.file} ${JSON.stringify(output.env)}\n${report}`);
  for (const run of runs) {
    assert.is(run.code, 0, `${output.source}:${output.line}: ${run.name} exit code\n${report}`);
    assert.is(run.stderr, '', `${output.source}:${output.line}: ${run.name} printed on stderr (warnings, errors, stack traces)\n${report}`);
  }
  return runs;
}

for (const output of outputs) {
  test(`${output.source}:${output.line}: ${output.file} ${Object.entries(output.env).map(([k, v]) => `${k}=${v}`).join(' ')} prints what the page says`, async () => {
    const example = examples.find((e) => e.file === output.file)!;
    await runExample(example, output);
  });
}

test.run();
