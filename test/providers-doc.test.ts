/**
 * docs/providers.md cannot rot: its capability table keeps exactly the agreed columns, every
 * cell of every provider row names at least one test, and every named test exists (its title
 * appears in the named file). The OpenAI-compatible configuration snippet is the tested example.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { providerNames } from '../src/config/schema.js';

const ROOT = new URL('../', import.meta.url);
const doc = readFileSync(new URL('docs/providers.md', ROOT), 'utf8');
const COLUMNS = ['provider', 'chat', 'stream', 'tools', 'structured output', 'images', 'embeddings', 'usage in stream', 'responses (`/v1/responses`)'];
/** `file` › `title` or `file` › "title". */
const LONG_REFERENCE = /`([\w./-]+\.test\.ts)` › (?:`([^`]+)`|"([^"]+)")/g;
/** `G` "title", "title": a shorthand declared in the doc as `G` = `file`. */
const SHORT_REFERENCE = /`([A-Z]{1,3})` ((?:"[^"]+"(?:,\s*)?)+)/g;
const shorthands = new Map([...doc.matchAll(/`([A-Z]{1,3})` =\s+`([\w./-]+\.test\.ts)`/g)].map((m) => [m[1]!, m[2]!]));

interface Reference {
  readonly file: string;
  readonly title: string;
  /** `file` › `title` references must give the whole title; quoted ones may give its start. */
  readonly whole: boolean;
}

/** Every test a piece of the doc names (titles wrapped across lines are joined). */
function references(text: string): Reference[] {
  const out: Reference[] = [];
  const clean = (t: string): string => t.replace(/\s+/g, ' ');
  for (const m of text.matchAll(LONG_REFERENCE)) out.push({ file: m[1]!, title: clean((m[2] ?? m[3])!), whole: m[2] !== undefined });
  for (const m of text.matchAll(SHORT_REFERENCE)) {
    const file = shorthands.get(m[1]!);
    if (file === undefined) continue;
    for (const title of m[2]!.matchAll(/"([^"]+)"/g)) out.push({ file, title: clean(title[1]!), whole: false });
  }
  return out;
}

/**
 * Whether `source` has a test (or describe block) with this title: the whole title as a string
 * literal, or for quoted references the start of one; "…" elides text, the pieces around it must
 * appear in order, the first one starting a string literal.
 */
function hasTitle(source: string, { title, whole }: Reference): boolean {
  const quotes = ["'", '"', '`'];
  if (!title.includes('…')) return quotes.some((q) => source.includes(whole ? `${q}${title}${q}` : `${q}${title}`));
  const pieces = title.split('…').map((p) => p.trim()).filter((p) => p !== '');
  const first = pieces.shift() ?? '';
  return quotes.some((q) => {
    let at = source.indexOf(`${q}${first}`);
    for (const piece of pieces) {
      if (at < 0) return false;
      at = source.indexOf(piece, at);
    }
    return at >= 0;
  });
}

function cells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

/** The capability table: the header line is the one that starts with `| provider | chat |`. */
function capabilityTable(): { header: string[]; rows: string[][] } {
  const lines = doc.split('\n');
  const start = lines.findIndex((l) => /^\|\s*provider\s*\|\s*chat\s*\|/.test(l));
  expect(start, 'docs/providers.md has a capability table').toBeGreaterThanOrEqual(0);
  const rows: string[][] = [];
  for (const line of lines.slice(start + 2)) {
    if (!line.startsWith('|')) break;
    rows.push(cells(line));
  }
  return { header: cells(lines[start] ?? ''), rows };
}

describe('docs/providers.md', () => {
  const { header, rows } = capabilityTable();

  it('has exactly the agreed columns', () => {
    expect(header).toEqual(COLUMNS);
  });

  it('has a row for every provider the configuration accepts', () => {
    const names = rows.map((r) => /`([\w.-]+)`/.exec(r[0] ?? '')?.[1]);
    expect([...names].sort()).toEqual([...providerNames].sort());
  });

  it('every cell of every row names a test', () => {
    for (const row of rows) {
      expect(row, `row ${row[0]}`).toHaveLength(COLUMNS.length);
      for (const [i, cell] of row.slice(1).entries()) {
        expect(references(cell).length, `${row[0]} / ${COLUMNS[i + 1]}: "${cell}"`).toBeGreaterThan(0);
      }
    }
  });

  it('every test it names exists in the named file', () => {
    const named = references(doc);
    expect(named.length).toBeGreaterThan(40);
    const missing = named.filter((ref) => {
      const path = new URL(ref.file, ROOT);
      return !existsSync(path) || !hasTitle(readFileSync(path, 'utf8'), ref);
    });
    expect(missing).toEqual([]);
  });

  it('the OpenAI-compatible configuration snippet is examples/openai-compatible.yaml (loaded by test/examples.test.ts)', () => {
    const snippet = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(snippet).toBeDefined();
    expect(readFileSync(new URL('examples/openai-compatible.yaml', ROOT), 'utf8').endsWith(snippet!)).toBe(true);
  });
});
