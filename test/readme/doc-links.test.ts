// Every relative link in README.md, docs/*.md, SECURITY.md and ops/README.md resolves: the file or
// folder exists, and an #anchor names a heading (GitHub's slug) or an <a id> on that page; and every
// docs/*.md page a source file names exists. The manual lives in several pages that link to each
// other and into the sources, so a page renamed, a heading reworded or a file moved fails here
// rather than on a reader.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { repoRoot } from '../helpers/process-harness.js';
import { documentPaths } from '../helpers/readme-examples.js';
import { anchorsOf, brokenReason, headingSlug, relativeLinks } from '../helpers/markdown-links.js';

const pages = [...documentPaths(repoRoot), 'SECURITY.md', 'ops/README.md'].filter((page) => existsSync(join(repoRoot, page)));

test('headings get GitHub\'s anchors', () => {
  assert.is(headingSlug('LOCK, QUEUE and UNIQUE_ID — coordination'), 'lock-queue-and-unique_id--coordination');
  assert.is(headingSlug('`SHARED_STORE(storeName)` on [Redis](x.md)'), 'shared_storestorename-on-redis');
  assert.is(headingSlug('What it costs: 1.5× (2 cores)'), 'what-it-costs-15-2-cores');
  assert.equal([...anchorsOf('# A\n## A\n```\n# not a heading\n```\n<a id="here"></a>\n## `mongo`\n')], ['a', 'a-1', 'here', 'mongo']);
});

test('links in code are not links; absolute URLs are not checked', () => {
  const links = relativeLinks('x.md', '[a](b.md) `[c](d.md)` [e](https://x.org/) [f](#g)\n```\n[h](i.md)\n```\n[j]: k.md\n');
  assert.equal(links.map((l) => l.target), ['b.md', '#g', 'k.md']);
});

test('a missing file or anchor is reported', () => {
  assert.ok(brokenReason(repoRoot, { source: 'README.md', line: 1, target: 'docs/no-such-page.md' }));
  assert.ok(brokenReason(repoRoot, { source: 'README.md', line: 1, target: '#no-such-heading' }));
  assert.is(brokenReason(repoRoot, { source: 'docs/readme-examples.md', line: 1, target: '../README.md' }), undefined);
});

test('every relative link in the README and the docs resolves', () => {
  assert.ok(pages.length > 5, `pages: ${pages.join(', ')}`);
  const broken: string[] = [];
  let checked = 0;
  for (const page of pages) {
    for (const link of relativeLinks(page, readFileSync(join(repoRoot, page), 'utf8'))) {
      checked++;
      const reason = brokenReason(repoRoot, link);
      if (reason) broken.push(`${link.source}:${link.line}: ${reason}`);
    }
  }
  assert.ok(checked > 10, `checked ${checked} links`);
  assert.equal(broken, [], `broken links:\n${broken.join('\n')}`);
});

/** Every source file under `dir` (TypeScript, JavaScript, shell). */
function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return name === 'node_modules' ? [] : sources(path);
    return /\.(ts|js|mjs|sh)$/.test(name) ? [path] : [];
  });
}

test('every docs page the sources name exists', () => {
  const missing: string[] = [];
  for (const file of ['src', 'ops', 'bin', 'scripts'].filter((d) => existsSync(join(repoRoot, d))).flatMap((d) => sources(join(repoRoot, d)))) {
    for (const [, page] of readFileSync(file, 'utf8').matchAll(/\bdocs\/([\w-]+\.md)/g)) {
      if (!existsSync(join(repoRoot, 'docs', page))) missing.push(`${file.slice(repoRoot.length + 1)}: docs/${page}`);
    }
  }
  assert.equal(missing, [], `docs pages named in sources that do not exist:\n${missing.join('\n')}`);
});

test.run();
