import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { configSchema } from '../src/config/schema.js';

/**
 * docs/configuration.md cannot drift from the schema: every key of every table exists in the
 * schema, every schema key is documented (an object either as one row or as a row per dotted
 * sub-key, `metrics.port`), and the default column says what the schema does:
 * - a default in the schema: the cell is that value in backticks (`` `10485760` (10 MiB) ``);
 * - a required key: the cell starts with "required";
 * - anything else (computed, inherited, none): not "required" and not the schema's business.
 */
const doc = readFileSync(new URL('../docs/configuration.md', import.meta.url), 'utf8');

interface JsonSchema {
  readonly type?: string;
  readonly default?: unknown;
  readonly properties?: Readonly<Record<string, JsonSchema>>;
  readonly additionalProperties?: JsonSchema | boolean;
  readonly required?: readonly string[];
}

const root = z.toJSONSchema(configSchema, { io: 'input', unrepresentable: 'any' }) as JsonSchema;

function prop(node: JsonSchema | undefined, key: string): JsonSchema | undefined {
  return node?.properties?.[key];
}

/** A map's value schema (`deployments`, `models`, `tenants`). */
function entry(node: JsonSchema | undefined): JsonSchema | undefined {
  const v = node?.additionalProperties;
  return typeof v === 'object' ? v : undefined;
}

/** Which schema object each table documents: its section heading and the table's place in it. */
const tables: ReadonlyArray<{ heading: string; index: number; schema: JsonSchema | undefined; path: string }> = [
  { heading: '## `server`', index: 0, schema: prop(root, 'server'), path: 'server' },
  { heading: '## `logging`', index: 0, schema: prop(root, 'logging'), path: 'logging' },
  { heading: '## `routing`', index: 0, schema: prop(root, 'routing'), path: 'routing' },
  { heading: '## `retry`', index: 0, schema: prop(root, 'retry'), path: 'retry' },
  { heading: '## `timeouts`', index: 0, schema: prop(root, 'timeouts'), path: 'timeouts' },
  { heading: '## `circuitBreaker`', index: 0, schema: prop(root, 'circuitBreaker'), path: 'circuitBreaker' },
  { heading: '## `deployments`', index: 0, schema: entry(prop(root, 'deployments')), path: 'deployments.*' },
  { heading: '### `aws`', index: 0, schema: prop(entry(prop(root, 'deployments')), 'aws'), path: 'deployments.*.aws' },
  { heading: '## `models`', index: 0, schema: entry(prop(root, 'models')), path: 'models.*' },
  { heading: '## `tenants`', index: 0, schema: entry(prop(root, 'tenants')), path: 'tenants.*' },
  { heading: '## `queue`', index: 0, schema: prop(root, 'queue'), path: 'queue' },
  { heading: '## `budgets`', index: 0, schema: prop(prop(root, 'budgets'), 'webhook'), path: 'budgets.webhook' },
  { heading: '## `state`', index: 0, schema: prop(root, 'state'), path: 'state' },
  { heading: '## `state`', index: 1, schema: prop(prop(root, 'state'), 'redis'), path: 'state.redis' },
  { heading: '## `state`', index: 2, schema: prop(prop(root, 'state'), 'database'), path: 'state.database' },
  { heading: '## `admin`', index: 0, schema: prop(root, 'admin'), path: 'admin' },
  { heading: '## `requestLog`', index: 0, schema: prop(root, 'requestLog'), path: 'requestLog' },
  { heading: '## `batches`', index: 0, schema: prop(root, 'batches'), path: 'batches' },
  { heading: '## `identity`', index: 0, schema: prop(prop(root, 'identity'), 'jwt'), path: 'identity.jwt' },
  { heading: '## `identity`', index: 1, schema: prop(prop(root, 'identity'), 'console'), path: 'identity.console' },
  { heading: '## `batches`', index: 0, schema: prop(root, 'batches'), path: 'batches' },
  { heading: '## `responses`', index: 0, schema: prop(root, 'responses'), path: 'responses' },
  { heading: '## `tracing`', index: 0, schema: prop(root, 'tracing'), path: 'tracing' },
];

interface Row {
  readonly key: string;
  readonly defaultCell: string;
  readonly line: number;
}

function cells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

/** The `index`-th `| key | default | meaning |` table after `heading` (before the next `## `). */
function tableRows(heading: string, index: number): Row[] {
  const lines = doc.split(/\r?\n/);
  const start = lines.findIndex((l) => l.startsWith(heading));
  if (start === -1) throw new Error(`docs/configuration.md has no heading ${heading}`);
  let seen = -1;
  for (let i = start + 1; i < lines.length && !/^##? /.test(lines[i] ?? ''); i++) {
    if (!/^\|\s*key\s*\|\s*default\s*\|/.test(lines[i] ?? '')) continue;
    if (++seen !== index) continue;
    const rows: Row[] = [];
    // Cells may hold `\|` (a pipe inside code); it is not a column separator.
    for (let j = i + 2; (lines[j] ?? '').startsWith('|'); j++) {
      const [keyCell = '', defaultCell = ''] = cells((lines[j] ?? '').replace(/\\\|/g, '¦'));
      const key = /^`([A-Za-z.]+)`$/.exec(keyCell)?.[1];
      if (key === undefined) throw new Error(`docs/configuration.md line ${j + 1}: key cell is not a key in backticks: ${keyCell}`);
      rows.push({ key, defaultCell, line: j + 1 });
    }
    return rows;
  }
  throw new Error(`docs/configuration.md: table ${index} under ${heading} not found`);
}

/** The value a default cell states: the backticked literal at its start, with an optional (note). */
function statedDefault(cell: string): { value: unknown } | undefined {
  const m = /^`([^`]+)`(?:\s*\([^)]*\))?$/.exec(cell);
  if (m === null) return undefined;
  const text = m[1] as string;
  try {
    return { value: JSON.parse(text) };
  } catch {
    return { value: text };
  }
}

/** Schema keys a table must document: an object's sub-keys may be documented one by one (`a.b`). */
function undocumented(schema: JsonSchema, documented: ReadonlySet<string>, prefix = ''): string[] {
  return Object.entries(schema.properties ?? {}).flatMap(([key, sub]) => {
    const name = `${prefix}${key}`;
    if (documented.has(name)) return [];
    if (sub.properties !== undefined && [...documented].some((d) => d.startsWith(`${name}.`))) return undocumented(sub, documented, `${name}.`);
    return [name];
  });
}

describe('docs/configuration.md agrees with src/config/schema.ts', () => {
  it('has a section, checked below, for every top-level key of the schema', () => {
    const checked = new Set(tables.map((t) => t.path.split('.')[0]));
    expect(Object.keys(root.properties ?? {}).filter((k) => !checked.has(k))).toEqual([]);
  });

  describe.each(tables)('the $path table', ({ heading, index, schema, path }) => {
    const rows = tableRows(heading, index);

    it('exists in the schema and has rows', () => {
      expect(schema, path).toBeDefined();
      expect(rows.length).toBeGreaterThan(0);
    });

    it('documents every key of the schema', () => {
      expect(undocumented(schema ?? {}, new Set(rows.map((r) => r.key)))).toEqual([]);
    });

    it('documents no key the schema does not have', () => {
      const missing = rows.filter((r) => r.key.split('.').reduce<JsonSchema | undefined>((node, k) => prop(node, k), schema) === undefined);
      expect(missing.map((r) => `${r.key} (line ${r.line})`)).toEqual([]);
    });

    it('states the schema default of every key, and which keys are required', () => {
      const wrong = rows.flatMap((r): Array<Record<string, unknown>> => {
        const parts = r.key.split('.');
        const leaf = parts.reduce<JsonSchema | undefined>((node, k) => prop(node, k), schema);
        const parent = parts.slice(0, -1).reduce<JsonSchema | undefined>((node, k) => prop(node, k), schema);
        if (leaf === undefined) return [];
        const required = parent?.required?.includes(parts.at(-1) as string) === true;
        const saysRequired = /^required\b/.test(r.defaultCell);
        if (required !== saysRequired) return [{ key: r.key, line: r.line, doc: r.defaultCell, schemaRequired: required }];
        if (leaf.default === undefined || typeof leaf.default === 'object' && !Array.isArray(leaf.default)) return [];
        const stated = statedDefault(r.defaultCell);
        if (stated !== undefined && JSON.stringify(stated.value) === JSON.stringify(leaf.default)) return [];
        return [{ key: r.key, line: r.line, doc: r.defaultCell, schemaDefault: leaf.default }];
      });
      expect(wrong).toEqual([]);
    });
  });
});
