import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { evaluateGoals, extractSection, renderSection, renderSvg, replaceSection, summarizeVariant, type RoutingResults } from '../bench/routing/report.mjs';

// The routing benchmark (`npm run bench:routing`) takes minutes and is not part of npm test; its
// report is. docs/routing.md's "Benchmark" section and its SVG must be exactly what the committed
// raw results render to, so no number in them can drift from what was measured.

const root = new URL('..', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');

describe('routing benchmark report in docs/routing.md', () => {
  it('is what the committed raw results render to (table, goals and chart)', () => {
    const results = JSON.parse(read('bench/routing/results/latest.raw.json')) as RoutingResults;
    let notes = '';
    try {
      notes = read('bench/routing/analysis.md');
    } catch {
      // no analysis prose yet
    }
    expect(extractSection(read('docs/routing.md'))).toBe(renderSection(results, notes));
    expect(read('docs/routing-benchmark.svg')).toBe(renderSvg(results));
  });
});

// A tiny hand-made run: two requests, one with an SLO, over a two-deployment fleet.
const fleetStats = (hit: number) => ({ a: { prefixQueryTokens: 1000, prefixHitTokens: hit }, b: { prefixQueryTokens: 1000, prefixHitTokens: hit } });
function run(name: string, strategy: string, rows: unknown[][], hit = 500) {
  return { name, strategy, fleetStats: fleetStats(hit), rows };
}
// [id, status, ttftMs, e2eMs, outputTokens, deployment, costUsd, error]
const fast = (id: number, ttft: number, e2e: number, dep = 'a') => [id, 200, ttft, e2e, 11, dep, 0.001, null];
const results: RoutingResults = {
  command: 'npm run bench:routing',
  startedAt: '2026-12-02T03:00:00.000Z',
  finishedAt: '2026-12-02T03:10:00.000Z',
  machine: { cores: 2, cpuModel: 'Test CPU', platform: 'linux x64', node: 'v20.20.2', loadAvgStart: 0.5, loadAvgEnd: 1.5 },
  pinning: 'taskset',
  cutoffMs: 30_000,
  // [atMs, tenant, interactive, promptTokens, maxTokens, sloTtftMs, sloTpotMs]
  workload: { seed: 1, durationMs: 10_000, options: { baseRatePerSec: 1, burstRatePerSec: 5, tenants: 1, systemPromptsPerTenant: 1, slos: [{ ttftMs: 500, tpotMs: 50 }] }, requests: [[0, 0, true, 100, 11, 500, 50], [100, 0, false, 100, 11, null, null]] },
  fleet: [
    { name: 'a', class: 'fast', price: { input: 1, output: 2 }, params: { speed: 1, prefillMsPerToken: 0.02, decodeBaseMs: 2, decodeMsPerSeq: 0.1, maxBatch: 8, kvCapacityTokens: 1000, prefixCacheBlocks: 10 } },
    { name: 'b', class: 'slow', price: { input: 1, output: 2 }, params: { speed: 0.5, prefillMsPerToken: 0.02, decodeBaseMs: 2, decodeMsPerSeq: 0.1, maxBatch: 8, kvCapacityTokens: 1000, prefixCacheBlocks: 10 } },
  ],
  variants: [
    run('round_robin', 'round_robin', [fast(0, 400, 1000, 'a'), fast(1, 900, 3000, 'b')], 300),
    run('least_latency', 'least_latency', [fast(0, 600, 900), fast(1, 800, 1400)]),
    run('prefix_affinity', 'prefix_affinity', [fast(0, 300, 800), fast(1, 300, 2000)], 800),
    run('predicted_latency', 'predicted_latency', [fast(0, 300, 600), fast(1, 300, 700)]),
    // Its own hedged variant is not an "other strategy" for the SLO goal.
    run('predicted_latency+hedge', 'predicted_latency', [fast(0, 100, 500), fast(1, 100, 500)]),
  ],
};

describe('routing benchmark report', () => {
  it('counts an SLO as met only when both TTFT and TPOT hold, and errors as misses', () => {
    const v = (rows: unknown[][]) => summarizeVariant(results, run('x', 'x', rows));
    expect(v([fast(0, 400, 800), fast(1, 400, 800)]).sloAttainment).toBe(1);
    // TTFT 600 > 500.
    expect(v([fast(0, 600, 800), fast(1, 400, 800)]).sloAttainment).toBe(0);
    // TPOT (1400 − 400) / 10 = 100 ms > 50.
    expect(v([fast(0, 400, 1400), fast(1, 400, 800)]).sloAttainment).toBe(0);
    const cut = v([[0, 0, null, 30_000, 0, null, null, 'cutoff'], fast(1, 400, 800)]);
    expect(cut.sloAttainment).toBe(0);
    expect(cut.errors).toEqual({ cutoff: 1 });
    expect(cut.ok).toBe(1);
    // The batch request carries no SLO: goodput counts SLO-meeting requests per second of workload.
    expect(v([fast(0, 400, 800), fast(1, 9000, 90_000)]).goodputPerSec).toBeCloseTo(0.1);
    expect(v([fast(0, 400, 800, 'a'), fast(1, 400, 800, 'a')]).shares).toEqual({ a: 1, b: 0 });
    expect(v([fast(0, 400, 800), fast(1, 400, 800)]).prefixHitRate).toBe(0.5);
  });

  it('judges each goal of the issue from the numbers', () => {
    const byId = Object.fromEntries(evaluateGoals(results).map((g) => [g.id, g]));
    // p90 TTFT 300 against 800 (nearest rank of two): 62.5 % lower.
    expect(byId['predicted-ttft']?.met).toBe(true);
    expect(byId['predicted-ttft']?.value).toBe('300 ms against 800 ms (62.5 % lower)');
    // p50 e2e 600 against 1000: 40 % lower.
    expect(byId['predicted-e2e']?.met).toBe(true);
    // 100 % SLO met, but prefix_affinity also met it: not higher than every other.
    expect(byId['predicted-slo']?.met).toBe(false);
    expect(byId['prefix-hit']?.met).toBe(true);
    const worseP99 = { ...results, variants: results.variants.map((v: Record<string, unknown>) => (v.name === 'prefix_affinity' ? run('prefix_affinity', 'prefix_affinity', [fast(0, 300, 800), fast(1, 300, 5000)], 800) : v)) };
    expect(Object.fromEntries(evaluateGoals(worseP99).map((g) => [g.id, g]))['prefix-hit']?.met).toBe(false);
    const partial = { ...results, variants: results.variants.slice(0, 2) };
    expect(evaluateGoals(partial).every((g) => g.met === undefined)).toBe(true);
  });

  it('replaces only the Benchmark section of the document', () => {
    const doc = '# Routing\n\n## Hedging\n\ntext\n\n## Benchmark\n\nold\n\n## Later\n\nkept\n';
    const out = replaceSection(doc, '## Benchmark\n\nnew\n');
    expect(out).toBe('# Routing\n\n## Hedging\n\ntext\n\n## Benchmark\n\nnew\n\n## Later\n\nkept\n');
    expect(extractSection(out)).toBe('## Benchmark\n\nnew\n');
    expect(replaceSection('# R\n\n## Benchmark\n', '## Benchmark\n\nnew\n')).toBe('# R\n\n## Benchmark\n\nnew\n');
  });

  it('writes the table, the goals, the command and the machine, and draws four bars per strategy', () => {
    const md = renderSection(results, 'Why it went so.');
    expect(md).toContain('`npm run bench:routing`');
    expect(md).toContain('2 cores, Test CPU');
    expect(md).toContain('| predicted_latency | 300 ms | 300 ms | 300 ms | 600 ms | 700 ms | 700 ms | 30 ms | 100.0 % | 0.10/s | $1.00 | 50.0 % | 0 |');
    expect(md).toContain('- **not met**: `predicted_latency` SLO attainment higher than every other strategy');
    expect(md).toContain('![TTFT and end-to-end latency per strategy](routing-benchmark.svg)');
    expect(md.trim().endsWith('Why it went so.')).toBe(true);
    const svg = renderSvg(results);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.match(/<rect x=/g)).toHaveLength(5 * 4);
  });
});
