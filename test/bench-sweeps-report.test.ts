import { describe, expect, it } from 'vitest';
import type { BenchResults } from '../bench/lib/report.mjs';
import { renderReport } from '../bench/lib/report.mjs';
import { bodySlopes, evaluateSweeps, keysAdded, niceScale, perKey, renderSweepSvgs, renderSweepsSection } from '../bench/lib/report-sweeps.mjs';

// The sweeps (bench/lib/sweeps.mjs) take minutes and are not part of npm test; their section of
// docs/performance.md is, so the report stays in step with the raw results.
const lat = (p50: number, p99: number) => ({ count: 1000, mean: p50, p50, p90: p99, p99, p999: p99, max: p99 });
const MB = 1024 * 1024;
const keyStep = (keys: number, rssMB: number, oursP50: number, extra: Record<string, unknown> = {}) => ({
  keys,
  fillMs: 900,
  startMs: 1200,
  rss: rssMB * MB,
  heapUsed: (rssMB / 2) * MB,
  direct: { ok: 9000, errors: 0, latencyUs: lat(100, 200) },
  ours: { ok: 6000, errors: 0, latencyUs: lat(oursP50, oursP50 + 150) },
  ...extra,
});
const routeStep = (routes: number, cpu: number) => ({ routes, startMs: 900, offered: 1000, achieved: 1000, ok: 3000, errors: 0, latencyUs: lat(400, 900), cpuUsPerRequest: cpu, allocBytesPerRequest: 20_000, cpuBusy: cpu / 1000, rss: 90 * MB });
const streamStep = (requested: number, streams: number, perStreamKB: number, completed = streams) => ({
  requested,
  streams,
  chunks: 26,
  open: streams,
  active: streams,
  completed,
  errors: streams - completed,
  rejected: 0,
  openMs: 2500,
  totalMs: 16_000,
  rssBefore: 80 * MB,
  rssOpen: 80 * MB + streams * perStreamKB * 1024,
  rssAfter: 100 * MB,
  heapBefore: 20 * MB,
  heapOpen: 20 * MB + streams * (perStreamKB / 2) * 1024,
  rssPerStream: perStreamKB * 1024,
  heapPerStream: (perStreamKB / 2) * 1024,
});
const bodyStep = (kb: number, rate: number, cpu: number, loopMax = 2) => ({
  bytes: kb * 1024,
  bodyBytes: kb * 1024 + 99,
  rate,
  achieved: rate,
  ok: rate * 3,
  errors: 0,
  latencyUs: lat(500 + kb, 900 + kb),
  cpuUsPerRequest: cpu,
  allocBytesPerRequest: kb * 3 * 1024,
  cpuBusy: (cpu * rate) / 1e6,
  eventLoop: { p50Ms: 0.1, p99Ms: loopMax / 2, maxMs: loopMax, samples: 300, resolutionMs: 10 },
  rss: 100 * MB,
});

const sweeps = {
  keys: { warmupMs: 200, durationMs: 3000, settleMs: 1000, teams: 100, steps: [keyStep(100, 60, 300), keyStep(1000, 61, 310), keyStep(10_000, 70, 305), keyStep(100_000, 160, 320)] },
  routes: { rate: 1000, warmupMs: 1000, durationMs: 3000, steps: [routeStep(1, 300), routeStep(10, 305), routeStep(100, 310), routeStep(1000, 320)] },
  streams: { chunkGapMs: 500, openFiles: { soft: 20_000, hard: 20_000 }, reserveFiles: 512, steps: [streamStep(1000, 1000, 20), streamStep(3000, 3000, 21), streamStep(10_000, 9700, 22)] },
  body: { warmupMs: 1000, durationMs: 3000, steps: [bodyStep(1, 200, 300), bodyStep(10, 200, 330), bodyStep(100, 100, 600), bodyStep(1024, 20, 3600, 12)] },
  seconds: 200,
};
const results: BenchResults = {
  startedAt: '2026-12-05T18:00:00.000Z',
  quick: false,
  plan: { connections: 50, maxSeconds: 8, streamRate: 100, openStreams: 5000 },
  pinning: 'taskset',
  machine: { cores: 2, cpuModel: 'Test CPU', platform: 'linux x64', node: 'v20.20.2', autocannon: '8.0.0' },
  targets: { direct: { label: 'd', notes: '' }, ours: { label: 'o', notes: '' } },
  phases: { sweeps },
};
const withSweeps = (patch: Record<string, unknown>): BenchResults => ({ ...results, phases: { sweeps: { ...sweeps, ...patch } } });
const byId = (r: BenchResults) => Object.fromEntries(evaluateSweeps(r).map((g) => [g.id, g]));

describe('benchmark report: costs that grow with scale', () => {
  it('derives added latency, growth per key and the per-KB CPU slopes from the raw steps', () => {
    expect(keysAdded(sweeps.keys.steps[3], 'p50')).toBe(220);
    expect(perKey(sweeps.keys.steps, 'rss')).toBeCloseTo((100 * MB) / 99_900, 6);
    expect(bodySlopes(sweeps.body.steps).map((s) => Number(s.usPerKB.toFixed(3)))).toEqual([3.333, 3, 3.247]);
  });

  it('judges each sweep against its goal', () => {
    const v = byId(results);
    expect(v.keys).toMatchObject({ met: true, value: '200 µs → 220 µs; per key: idle RSS 1.0 KB, V8 heap 525 B' });
    expect(v.routes).toMatchObject({ met: true, value: '300 µs → 320 µs (+7 %; most 320 µs at 1,000)' });
    expect(v['stream-memory']).toMatchObject({ met: true, value: 'RSS 22.0 KB, V8 heap 11.0 KB (9,700 streams: 10,000 did not fit the open-files limit)' });
    expect(v['stream-complete']).toMatchObject({ met: true, value: '13,700 of 13,700 completed' });
    expect(v['body-cpu']).toMatchObject({ met: true, value: '3.25 µs per KB from 100 KB to 1 MB, 3.00 from 10 KB to 100 KB' });
    expect(v['body-loop']).toMatchObject({ met: true, value: 'max 12.0 ms (p99 6.0 ms) at 1 MB' });
  });

  it('says no where a goal is missed', () => {
    const slowKeys = { ...sweeps.keys, steps: [...sweeps.keys.steps.slice(0, 3), keyStep(100_000, 160, 400)] };
    const dearRoutes = { ...sweeps.routes, steps: [...sweeps.routes.steps.slice(0, 3), routeStep(1000, 360)] };
    const fatStreams = { ...sweeps.streams, steps: [streamStep(1000, 1000, 20), streamStep(10_000, 10_000, 40, 9990)] };
    const quadratic = { ...sweeps.body, steps: [bodyStep(1, 200, 300), bodyStep(10, 200, 330), bodyStep(100, 100, 600), bodyStep(1024, 20, 9000, 35)] };
    const v = byId(withSweeps({ keys: slowKeys, routes: dearRoutes, streams: fatStreams, body: quadratic }));
    expect(v.keys?.met).toBe(false);
    expect(v.routes?.met).toBe(false);
    expect(v['stream-memory']).toMatchObject({ met: false, value: 'RSS 40.0 KB, V8 heap 20.0 KB' });
    const quick = byId(withSweeps({ streams: { ...sweeps.streams, steps: [streamStep(300, 300, 20), streamStep(1000, 1000, 25)] } }));
    expect(quick['stream-memory']).toMatchObject({ met: true, value: 'RSS 25.0 KB, V8 heap 12.5 KB (at 1,000 streams, the most this run tried)' });
    expect(v['stream-complete']).toMatchObject({ met: false, value: '10,990 of 11,000 completed, 10 did not' });
    expect(v['body-cpu']?.met).toBe(false);
    expect(v['body-loop']).toMatchObject({ met: false, value: 'max 35.0 ms (p99 17.5 ms) at 1 MB' });
  });

  it('writes one table per sweep with the raw numbers, and the verdicts', () => {
    const md = renderSweepsSection(results);
    expect(md.startsWith('## Costs that grow with scale\n')).toBe(true);
    expect(md).toContain('| keys: added p50 at c=1 flat from 100 to 100,000 keys (within 50 µs) | 200 µs → 220 µs; per key: idle RSS 1.0 KB, V8 heap 525 B | yes |');
    expect(md).toContain('| 100,000 | 1.20 s | 160.0 MB | 80.0 MB | 100 µs | 320 µs | 220 µs | 270 µs | 6,000 | 0 |');
    expect(md).toContain('| 1,000 | 1,000/s | 1,000/s | 320 µs | 19.5 KB | 32 % | 400 µs | 900 µs | 0 |');
    expect(md).toContain('| 9,700 (of 10,000) | 9,700 | 9,700 | 0 | 2.50 s | 80.0 MB | 288.4 MB | 22.0 KB | 11.0 KB | 100.0 MB |');
    expect(md).toContain('so 10,000 streams (20,512 files) became 9,700.');
    expect(md).toContain('| 1 MB | 20/s | 20/s | 3.60 ms | 3.25 | 3.0 MB | 6.0 ms | 12.0 ms | 1.52 ms | 1.92 ms | 0 |');
    for (const name of ['keys', 'routes', 'streams', 'body']) expect(md).toContain(`](performance-scaling-${name}.svg)`);
    expect(md).toContain('multi-core scaling section above');
  });

  it('is one section of the whole report, or says it was not measured', () => {
    const md = renderReport(results);
    expect(md.split('## Costs that grow with scale').length).toBe(2);
    expect(md.indexOf('## Multi-core scaling')).toBeLessThan(md.indexOf('## Costs that grow with scale'));
    const without = renderReport({ ...results, phases: {} });
    expect(without).toContain('## Costs that grow with scale\n\nNot measured in this run (`--phases sweeps`).');
    expect(renderSweepSvgs({ ...results, phases: {} })).toEqual({});
  });

  it('draws four deterministic plots with every point on the canvas', () => {
    const svgs = renderSweepSvgs(results);
    expect(Object.keys(svgs)).toEqual(['keys', 'routes', 'streams', 'body']);
    expect(renderSweepSvgs(structuredClone(results))).toEqual(svgs);
    for (const svg of Object.values(svgs)) {
      expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="760" height="420"')).toBe(true);
      expect(svg.trim().endsWith('</svg>')).toBe(true);
      expect(svg).not.toMatch(/NaN|undefined|Infinity/);
      for (const m of svg.matchAll(/<circle cx="([\d.]+)" cy="([\d.]+)"/g)) {
        expect(Number(m[1])).toBeGreaterThanOrEqual(80);
        expect(Number(m[1])).toBeLessThanOrEqual(670);
        expect(Number(m[2])).toBeGreaterThanOrEqual(62);
        expect(Number(m[2])).toBeLessThanOrEqual(366);
      }
    }
    expect(svgs.keys?.match(/<polyline /g)).toHaveLength(2);
    expect(svgs.streams?.match(/<polyline /g)).toHaveLength(3);
    expect(svgs.body).toContain('goal: event loop &lt; 20 ms');
    expect(svgs.routes).toContain('>1k</text>');
  });

  it('rounds axes to 1, 2, 2.5 or 5 steps', () => {
    expect(niceScale(320)).toEqual({ max: 400, step: 100 });
    expect(niceScale(9.5)).toEqual({ max: 10, step: 2 });
    expect(niceScale(0)).toEqual({ max: 1, step: 0.2 });
  });
});
