import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { errorCatalog, type ErrorCode } from '../src/errors/catalog.js';

/**
 * docs/errors.md must list every catalog code exactly once, in a markdown table whose header
 * starts `| code | status | type |`: first column the code in backticks, second the HTTP status,
 * third the OpenAI error type (backticks optional). An optional `x-should-retry` column, when
 * present, must match the catalog too.
 */
const DOC = new URL('../docs/errors.md', import.meta.url);

interface DocRow {
  readonly code: string;
  readonly status: number;
  readonly type: string;
  readonly shouldRetry: string | undefined;
  readonly line: number;
}

function cells(line: string): string[] {
  return line
    .trim()
    .replace(/^\|/, '')
    .replace(/\|$/, '')
    .split('|')
    .map((c) => c.trim());
}

const unquote = (cell: string): string => cell.replace(/^`(.*)`$/, '$1');

/** The rows of the table whose header begins with code | status | type. */
function parseCodeTable(markdown: string): DocRow[] {
  const lines = markdown.split(/\r?\n/);
  const headerAt = lines.findIndex((l) => /^\s*\|\s*code\s*\|\s*status\s*\|\s*type\s*\|/i.test(l));
  if (headerAt === -1) throw new Error('docs/errors.md has no table with a "| code | status | type |" header');
  const header = cells(lines[headerAt] ?? '').map((h) => unquote(h).toLowerCase());
  const retryColumn = header.indexOf('x-should-retry');
  const rows: DocRow[] = [];
  for (let i = headerAt + 2; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!line.trim().startsWith('|')) break;
    const c = cells(line);
    const code = /^`([a-z0-9_]+)`$/.exec(c[0] ?? '');
    if (!code) throw new Error(`docs/errors.md line ${i + 1}: first cell is not a code in backticks: ${c[0]}`);
    rows.push({
      code: code[1] as string,
      status: Number(c[1]),
      type: unquote(c[2] ?? ''),
      shouldRetry: retryColumn === -1 ? undefined : unquote(c[retryColumn] ?? ''),
      line: i + 1,
    });
  }
  return rows;
}

describe('docs/errors.md agrees with the error catalog', () => {
  const rows = parseCodeTable(readFileSync(DOC, 'utf8'));
  const byCode = new Map(rows.map((r) => [r.code, r]));
  const catalogCodes = Object.keys(errorCatalog) as ErrorCode[];

  it('the table parses', () => {
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) expect(Number.isInteger(r.status), `line ${r.line}`).toBe(true);
  });

  it('lists no code twice', () => {
    const seen = rows.map((r) => r.code);
    expect(seen.filter((c, i) => seen.indexOf(c) !== i)).toEqual([]);
  });

  it('lists every catalog code', () => {
    expect(catalogCodes.filter((c) => !byCode.has(c))).toEqual([]);
  });

  it('lists no code the catalog does not have', () => {
    expect(rows.map((r) => r.code).filter((c) => !Object.hasOwn(errorCatalog, c))).toEqual([]);
  });

  it.each(catalogCodes)('%s has the same status and type', (code) => {
    const row = byCode.get(code);
    expect(row, `${code} missing from docs/errors.md`).toBeDefined();
    expect({ status: row?.status, type: row?.type }).toEqual({ status: errorCatalog[code].status, type: errorCatalog[code].type });
  });

  it.each(catalogCodes)('%s has the same x-should-retry (when the column exists)', (code) => {
    const row = byCode.get(code);
    if (row?.shouldRetry === undefined) return;
    expect(row.shouldRetry).toBe(String(errorCatalog[code].shouldRetry));
  });
});
