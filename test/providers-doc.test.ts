/**
 * docs/providers.md cannot rot: its capability table keeps exactly the agreed columns, every
 * cell of every provider row names at least one test, and every named test exists (its title
 * appears in the named file). The OpenAI-compatible configuration snippet is the tested example.
 */
import { existsSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const ROOT = new URL('../', import.meta.url);
const doc = readFileSync(new URL('docs/providers.md', ROOT), 'utf8');
const COLUMNS = ['provider', 'chat', 'stream', 'tools', 'structured output', 'images', 'embeddings', 'usage in stream'];
const REFERENCE = /`(test\/[\w./-]+\.test\.ts)` › `([^`]+)`/g;

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

  it('has the providers this code base speaks', () => {
    const names = rows.map((r) => /`([\w.-]+)`/.exec(r[0] ?? '')?.[1]);
    for (const provider of ['openai', 'vllm', 'azure', 'triton']) expect(names).toContain(provider);
  });

  it('every cell of every row names a test', () => {
    for (const row of rows) {
      expect(row, `row ${row[0]}`).toHaveLength(COLUMNS.length);
      for (const [i, cell] of row.slice(1).entries()) {
        expect([...cell.matchAll(REFERENCE)].length, `${row[0]} / ${COLUMNS[i + 1]}: "${cell}"`).toBeGreaterThan(0);
      }
    }
  });

  it('every test it names exists in the named file', () => {
    const references = [...doc.matchAll(REFERENCE)];
    expect(references.length).toBeGreaterThan(20);
    for (const [, file, name] of references) {
      const path = new URL(file!, ROOT);
      expect(existsSync(path), `${file} exists`).toBe(true);
      // The title as a whole string literal, not merely a substring of a longer title.
      const source = readFileSync(path, 'utf8');
      const quoted = ["'", '"', '`'].some((q) => source.includes(`${q}${name!}${q}`));
      expect(quoted, `${file} has a test titled "${name}"`).toBe(true);
    }
  });

  it('the OpenAI-compatible configuration snippet is examples/openai-compatible.yaml (loaded by test/examples.test.ts)', () => {
    const snippet = /```yaml\n([\s\S]*?)```/.exec(doc)?.[1];
    expect(snippet).toBeDefined();
    expect(readFileSync(new URL('examples/openai-compatible.yaml', ROOT), 'utf8').endsWith(snippet!)).toBe(true);
  });
});
