/**
 * The relative links of Markdown pages, and whether each one resolves: the file (or folder) it
 * names exists, and an `#anchor` names a heading (GitHub's slugs) or an `<a id>` of that page.
 * Links inside fenced code blocks and inline code are text, not links; absolute URLs
 * (`https:`, `mailto:` …) are not checked.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { closingFence } from './readme-examples.js';

export interface MarkdownLink {
  /** The page the link is on, relative to the repository. */
  source: string;
  line: number;
  target: string;
}

const FENCE = /^(```+|~~~+)/;

/** The lines of a page outside fenced code blocks: as written, and with inline code spans blanked. */
function proseLines(text: string): Array<{ line: number; raw: string; text: string }> {
  const lines = text.split('\n');
  const prose: Array<{ line: number; raw: string; text: string }> = [];
  for (let i = 0; i < lines.length; i++) {
    const opening = FENCE.exec(lines[i].trim());
    if (opening) {
      i = closingFence(lines, i, opening[1]);
      continue;
    }
    prose.push({ line: i + 1, raw: lines[i], text: lines[i].replace(/(`+)[^`]*?\1/g, (span) => ' '.repeat(span.length)) });
  }
  return prose;
}

/** Every link of a page whose target is not an absolute URL: `[text](target)` and `[label]: target`. */
export function relativeLinks(source: string, text: string): MarkdownLink[] {
  const links: MarkdownLink[] = [];
  for (const { line, text: prose } of proseLines(text)) {
    const targets = [
      ...[...prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)].map((m) => m[1]),
      ...[...prose.matchAll(/^\s{0,3}\[[^\]]+\]:\s+<?(\S+?)>?(?:\s+"[^"]*")?\s*$/g)].map((m) => m[1]),
    ];
    for (const target of targets) if (!/^[a-z][a-z0-9+.-]*:/i.test(target)) links.push({ source, line, target });
  }
  return links;
}

/** GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens. */
export function headingSlug(heading: string): string {
  const plain = heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1') // a link keeps its text
    .replace(/<[^>]+>/g, '') // inline HTML
    .replace(/`/g, '');
  return plain.trim().toLowerCase().replace(/[^\p{L}\p{M}\p{N}\p{Pc} -]/gu, '').replace(/ /g, '-');
}

/** Every anchor a page defines: its headings' slugs (repeats numbered -1, -2 …) and `<a id|name="…">`. */
export function anchorsOf(text: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const { raw, text: prose } of proseLines(text)) {
    const heading = /^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(raw);
    if (heading) {
      const slug = headingSlug(heading[1]);
      const count = seen.get(slug) ?? 0;
      seen.set(slug, count + 1);
      anchors.add(count === 0 ? slug : `${slug}-${count}`);
    }
    for (const m of prose.matchAll(/<a\s+(?:id|name)="([^"]+)"/g)) anchors.add(m[1]);
  }
  return anchors;
}

/** Why a link does not resolve, or undefined when it does. */
export function brokenReason(repoRoot: string, link: MarkdownLink): string | undefined {
  const [pathPart, anchor] = link.target.split('#', 2) as [string, string | undefined];
  const path = decodeURIComponent(pathPart);
  const file = path === '' ? join(repoRoot, link.source) : normalize(join(repoRoot, dirname(link.source), path));
  if (relative(repoRoot, file).startsWith('..')) return `${link.target} points outside the repository`;
  if (!existsSync(file)) return `${link.target}: no such file ${relative(repoRoot, file)}`;
  if (anchor === undefined || !file.endsWith('.md') || statSync(file).isDirectory()) return undefined;
  if (!anchorsOf(readFileSync(file, 'utf8')).has(decodeURIComponent(anchor))) return `${link.target}: ${relative(repoRoot, file)} has no heading or anchor #${anchor}`;
  return undefined;
}
