import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { GatewayMetrics } from '../src/observability/metrics.js';

/**
 * docs/metrics.md must list every metric the gateway registers (the `gen_ai_*` and `gateway_*`
 * ones; prom-client's process metrics are only mentioned), each once, with its type, its unit,
 * exactly its labels and, for a histogram, exactly its bucket boundaries; and the outcome
 * vocabularies must match the types in src/observability/events.ts.
 *
 * Table rows: `| \`name\` | type | \`unit\` | labels | what |`. In the labels cell, label names
 * are the backticked words outside parentheses (`status_class` (`2xx`…) names one label), "none"
 * or an empty cell means no labels, and "as above plus …" / "as above" adds to (or repeats) the
 * previous row's labels. Prometheus has no unit but the name's suffix, so the unit is checked
 * against it: `s` ⇔ `_seconds`, `By` ⇔ `_bytes`, `USD` ⇔ `_usd`, `1` for ratios, flags and info,
 * and a `{thing}` count otherwise. Buckets: the `| histogram | buckets |` table.
 */
const doc = readFileSync(new URL('../docs/metrics.md', import.meta.url), 'utf8');
const events = readFileSync(new URL('../src/observability/events.ts', import.meta.url), 'utf8');

interface DocMetric {
  readonly name: string;
  readonly type: string;
  readonly unit: string;
  readonly labels: readonly string[];
  readonly line: number;
}

function cells(line: string): string[] {
  return line.trim().replace(/^\|/, '').replace(/\|$/, '').split('|').map((c) => c.trim());
}

/** Strips parenthesised text, nested or not (the values a label takes, not its name). */
function outsideParentheses(text: string): string {
  let out = '';
  let depth = 0;
  for (const ch of text) {
    if (ch === '(') depth++;
    else if (ch === ')') depth = Math.max(0, depth - 1);
    else if (depth === 0) out += ch;
  }
  return out;
}

function documentedMetrics(markdown: string): DocMetric[] {
  const lines = markdown.split(/\r?\n/);
  const out: DocMetric[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!/^\s*\|\s*metric\s*\|\s*type\s*\|\s*unit\s*\|\s*labels\s*\|/i.test(lines[i] ?? '')) continue;
    let previous: readonly string[] = [];
    for (let j = i + 2; j < lines.length && (lines[j] ?? '').trim().startsWith('|'); j++) {
      const [nameCell = '', type = '', unitCell = '', labelCell = ''] = cells(lines[j] ?? '');
      const name = /^`([a-z_:][a-z0-9_:]*)`$/.exec(nameCell)?.[1];
      if (name === undefined) throw new Error(`docs/metrics.md line ${j + 1}: first cell is not a metric name in backticks: ${nameCell}`);
      const unit = /^`([^`]+)`$/.exec(unitCell)?.[1];
      if (unit === undefined) throw new Error(`docs/metrics.md line ${j + 1}: unit cell is not a unit in backticks: ${unitCell}`);
      const own = [...outsideParentheses(labelCell).matchAll(/`([a-z_][a-z0-9_]*)`/g)].map((m) => m[1] as string);
      const labels = /^as above\b/i.test(labelCell) ? [...previous, ...own] : own;
      out.push({ name, type, unit, labels, line: j + 1 });
      previous = labels;
    }
  }
  return out;
}

/** The `| histogram | buckets |` table: each histogram's boundaries. */
function documentedBuckets(markdown: string): Map<string, number[]> {
  const lines = markdown.split(/\r?\n/);
  const out = new Map<string, number[]>();
  const at = lines.findIndex((l) => /^\s*\|\s*histogram\s*\|\s*buckets\s*\|/i.test(l));
  if (at === -1) throw new Error('docs/metrics.md has no "| histogram | buckets |" table');
  for (let j = at + 2; j < lines.length && (lines[j] ?? '').trim().startsWith('|'); j++) {
    const [nameCell = '', bucketCell = ''] = cells(lines[j] ?? '');
    const name = /^`([a-z_:][a-z0-9_:]*)`$/.exec(nameCell)?.[1];
    if (name === undefined) throw new Error(`docs/metrics.md line ${j + 1}: not a histogram name in backticks: ${nameCell}`);
    if (out.has(name)) throw new Error(`docs/metrics.md line ${j + 1}: ${name} listed twice`);
    out.set(name, bucketCell.split(',').map((b) => Number(b.trim())));
  }
  return out;
}

/** The unit a metric's name implies (Prometheus puts the unit in the name), or a count annotation. */
function unitOk(name: string, unit: string): boolean {
  const base = name.replace(/_total$/, '');
  if (/_seconds$/.test(base)) return unit === 's';
  if (/_bytes$/.test(base)) return unit === 'By';
  if (/_usd$/.test(base)) return unit === 'USD';
  if (/_(ratio|up|info)$/.test(base)) return unit === '1';
  return /^\{[a-z_]+\}$/.test(unit);
}

/** The members of `export type <name> = | 'a' | 'b' …;` in events.ts. */
function unionMembers(typeName: string): string[] {
  const body = new RegExp(`export type ${typeName} =([^;]*);`).exec(events)?.[1];
  if (body === undefined) throw new Error(`no type ${typeName} in src/observability/events.ts`);
  return [...body.replace(/\/\*[\s\S]*?\*\//g, '').matchAll(/'([a-z_]+)'/g)].map((m) => m[1] as string);
}

/** The backticked words of the paragraph that starts with `opening`. */
function paragraphWords(opening: string): Set<string> {
  const at = doc.indexOf(opening);
  if (at === -1) throw new Error(`docs/metrics.md has no paragraph starting "${opening}"`);
  const end = doc.indexOf('\n\n', at);
  const paragraph = doc.slice(at, end === -1 ? undefined : end);
  return new Set([...paragraph.matchAll(/`([a-z_]+)`/g)].map((m) => m[1] as string));
}

describe('docs/metrics.md agrees with the metrics registry', () => {
  const registered = new GatewayMetrics({ version: 'test', deployments: ['d'], controlPlane: true }).registry
    .getMetricsAsArray()
    .map((m) => m as unknown as { name: string; type: string; labelNames?: readonly string[]; buckets?: readonly number[]; upperBounds?: readonly number[] })
    .filter((m) => m.name.startsWith('gateway_') || m.name.startsWith('gen_ai_'));
  const documented = documentedMetrics(doc);
  const byName = new Map(documented.map((d) => [d.name, d]));

  it('the tables parse', () => {
    expect(documented.length).toBeGreaterThan(10);
  });

  it('lists no metric twice', () => {
    const names = documented.map((d) => d.name);
    expect(names.filter((n, i) => names.indexOf(n) !== i)).toEqual([]);
  });

  it('lists every registered metric', () => {
    expect(registered.map((m) => m.name).filter((n) => !byName.has(n))).toEqual([]);
  });

  it('lists no metric the gateway does not register', () => {
    const names = new Set(registered.map((m) => m.name));
    expect(documented.filter((d) => !names.has(d.name)).map((d) => `${d.name} (line ${d.line})`)).toEqual([]);
  });

  it('gives each metric the unit its exported name carries', () => {
    expect(documented.filter((d) => !unitOk(d.name, d.unit)).map((d) => `${d.name}: ${d.unit} (line ${d.line})`)).toEqual([]);
  });

  it('gives each histogram exactly its bucket boundaries, and lists no other metric there', () => {
    const buckets = documentedBuckets(doc);
    const histograms = registered.filter((m) => m.type === 'histogram');
    expect(histograms.length).toBeGreaterThan(5);
    const wrong = histograms.flatMap((m) => {
      const want = [...(m.buckets ?? m.upperBounds ?? [])];
      const got = buckets.get(m.name);
      return JSON.stringify(want) === JSON.stringify(got) ? [] : [{ metric: m.name, registry: want, doc: got }];
    });
    expect(wrong).toEqual([]);
    const names = new Set(histograms.map((m) => m.name));
    expect([...buckets.keys()].filter((n) => !names.has(n))).toEqual([]);
  });

  it('gives each metric its type and exactly its labels', () => {
    const wrong = registered.flatMap((m) => {
      const d = byName.get(m.name);
      if (d === undefined) return [];
      const want = { type: m.type, labels: [...(m.labelNames ?? [])].sort() };
      const got = { type: d.type, labels: [...d.labels].sort() };
      return JSON.stringify(want) === JSON.stringify(got) ? [] : [{ metric: m.name, line: d.line, registry: want, doc: got }];
    });
    expect(wrong).toEqual([]);
  });
});

describe('docs/metrics.md lists the outcome vocabularies of src/observability/events.ts', () => {
  it('every request outcome', () => {
    const words = paragraphWords('Request outcomes (`gateway_requests_total{outcome}`)');
    const outcomes = unionMembers('RequestOutcome');
    expect(outcomes.length).toBeGreaterThan(5);
    expect(outcomes.filter((o) => !words.has(o))).toEqual([]);
  });

  it('every attempt outcome', () => {
    const words = paragraphWords('Attempt outcomes (`gateway_upstream_attempts_total{outcome}`');
    const outcomes = unionMembers('AttemptOutcome');
    expect(outcomes.length).toBeGreaterThan(5);
    expect(outcomes.filter((o) => !words.has(o))).toEqual([]);
  });
});
