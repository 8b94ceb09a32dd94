import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';

/*
 * Every design or protocol rule a comment relies on is cited from the repository's own docs/, so whoever clones the
 * repo can follow every citation. A citation is `docs/<file>.md §<Heading>`, where <Heading> is the exact text of a
 * `#`…`######` heading of that file (HTML tags such as an `<a id>` anchor are not part of the text).
 *
 * Where a heading ends: at the first `)`, `(`, `,`, `;`, `:`, `"`, a backquote, a `.` not followed by a letter or
 * digit, or the end of the line (so headings hold none of these). A citation is never broken across lines. More sections of the same file may
 * follow as `, §<Heading>`, ` and §<Heading>` or ` or §<Heading>`. `docs/<file>.md` alone cites the whole file.
 * Inside docs/*.md a bare `§<Heading>` cites that same file (`README §<Heading>` is left alone).
 *
 * Also refused anywhere in the scanned files: section numbers (`§` followed by a digit: the numbered reference
 * notes these docs replace are not part of the repository), paths into the shared work area, and issue numbers.
 */

const root = join(import.meta.dirname, '..', '..');
const SECTION = '\u00a7';
const SCANNED_DIRS = ['src', 'test', 'scripts', 'migrations', 'bin', 'docs'];
const SCANNED_FILES = ['README.md'];
const TEXT = /\.(ts|mts|cts|js|mjs|cjs|md|json|sql|html|css|txt)$/;

function walk(dir: string, out: string[]): string[] {
  if (!existsSync(dir)) return out;
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.')) continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (TEXT.test(name)) out.push(path);
  }
  return out;
}

function scannedFiles(): string[] {
  const files = SCANNED_DIRS.flatMap((d) => walk(join(root, d), []));
  return [...files, ...SCANNED_FILES.map((f) => join(root, f))];
}

/** The text of every heading of a markdown file, outside fenced code blocks, without HTML tags. */
function headingsOf(path: string): Set<string> {
  const headings = new Set<string>();
  let fenced = false;
  for (const line of readFileSync(path, 'utf8').split('\n')) {
    if (/^\s*(```|~~~)/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.+?)\s*#*\s*$/.exec(line);
    if (m) headings.add(m[1]!.replace(/<[^>]*>/g, '').trim());
  }
  return headings;
}

const headingCache = new Map<string, Set<string> | null>();
function headings(relPath: string): Set<string> | null {
  if (!headingCache.has(relPath)) {
    const path = join(root, relPath);
    headingCache.set(relPath, existsSync(path) ? headingsOf(path) : null);
  }
  return headingCache.get(relPath)!;
}

/** The heading text at the start of `rest` (just after a `§`), ended by the rule above. */
function headingAt(rest: string): string {
  const end = /[)(,;:"`]|\.(?!\w)|\s(and|or)\s\u00a7|$/.exec(rest)!;
  return rest.slice(0, end.index).trim();
}

interface Citation {
  where: string;
  file: string;
  heading: string | null;
}

/** Every citation on one line: `docs/x.md §A, §B`, and (in docs/x.md itself) bare `§C`. */
function citationsOnLine(line: string, where: string, selfDoc: string | null): Citation[] {
  const found: Citation[] = [];
  const covered: Array<[number, number]> = [];
  const cite = /(docs\/[A-Za-z0-9_-]+\.md)(`?)( \u00a7)?/g;
  for (let m = cite.exec(line); m; m = cite.exec(line)) {
    const file = m[1]!;
    let pos = m.index + m[0].length;
    if (!m[3]) {
      found.push({ where, file, heading: null });
      continue;
    }
    for (;;) {
      const heading = headingAt(line.slice(pos));
      found.push({ where, file, heading });
      pos += heading.length;
      const more = /^(?:\s*,\s*|\s+(?:and|or)\s+)\u00a7/.exec(line.slice(pos));
      if (!more) break;
      pos += more[0].length;
    }
    covered.push([m.index, pos]);
  }
  if (selfDoc) {
    for (let i = line.indexOf(SECTION); i >= 0; i = line.indexOf(SECTION, i + 1)) {
      if (covered.some(([a, b]) => i >= a && i < b) || line.slice(0, i).endsWith('README ')) continue;
      found.push({ where, file: selfDoc, heading: headingAt(line.slice(i + 1)) });
    }
  }
  return found;
}

function scan() {
  const citations: Citation[] = [];
  const forbidden: string[] = [];
  const rules: Array<[RegExp, string]> = [
    [new RegExp(`${SECTION}\\s?\\d`), 'a numbered section'],
    [new RegExp(`\\b(reference|reliability)\\s?${SECTION}`, 'i'), 'the numbered reference notes'],
    [/\/work\/shared|\.\.\/shared\/reference|\bwecom-api\.md/, 'a file outside the repository'],
    [/\bissues? #?\d+|#\d+ finding/i, 'an issue number'],
  ];
  for (const path of scannedFiles()) {
    const rel = relative(root, path).split('\\').join('/');
    if (rel === 'test/unit/docs-citations.test.ts') continue;
    const selfDoc = /^docs\/[^/]+\.md$/.test(rel) ? rel : null;
    const lines = readFileSync(path, 'utf8').split('\n');
    lines.forEach((line, i) => {
      const where = `${rel}:${i + 1}`;
      for (const [re, what] of rules) if (re.test(line)) forbidden.push(`${where} cites ${what}: ${line.trim()}`);
      citations.push(...citationsOnLine(line, where, selfDoc));
    });
  }
  return { citations, forbidden };
}

describe('docs citations', () => {
  const { citations, forbidden } = scan();

  it('finds the citations (the scan itself works)', () => {
    expect(citations.filter((c) => c.heading !== null).length).toBeGreaterThan(100);
    expect(citationsOnLine('x (docs/inbox.md §Claims that stay flat, §Coalescing).', 'w', null)).toEqual([
      { where: 'w', file: 'docs/inbox.md', heading: 'Claims that stay flat' },
      { where: 'w', file: 'docs/inbox.md', heading: 'Coalescing' },
    ]);
    expect(citationsOnLine('docs/security.md §Audience queries and §Logging.', 'w', null).map((c) => c.heading)).toEqual([
      'Audience queries',
      'Logging',
    ]);
    expect(citationsOnLine('(docs/inbox.md §Backlog and readiness: read)', 'w', null).map((c) => c.heading)).toEqual([
      'Backlog and readiness',
    ]);
  });

  it('cites only files and headings that exist', () => {
    const broken = citations
      .filter((c) => {
        const set = headings(c.file);
        return set === null || (c.heading !== null && !set.has(c.heading));
      })
      .map((c) => `${c.where}: ${c.file}${c.heading === null ? '' : ` ${SECTION}${c.heading}`}`);
    expect(broken).toEqual([]);
  });

  it('cites no numbered sections, files outside the repository or issue numbers', () => {
    expect(forbidden).toEqual([]);
  });
});
