import { describe, expect, it } from 'vitest';
import { added, evaluateGoals, fmtBytes, fmtUs, renderConsoleTable, renderReport, renderSvg, type BenchResults } from '../bench/lib/report.mjs';

// The benchmark itself is not part of npm test (it takes minutes); its report generator is.
const lat = (p50: number, p99: number) => ({ count: 100, mean: p50, p50, p90: p99, p99, p999: p99, max: p99 });
const step = (offered: number, p50: number, p99: number, extra: Record<string, unknown> = {}) => ({ offered, sent: offered, ok: offered, errors: 0, achieved: offered, latencyUs: lat(p50, p99), saturated: false, ...extra });

const results: BenchResults = {
  startedAt: '2026-12-02T03:00:00.000Z',
  quick: false,
  plan: { connections: 50, maxSeconds: 8, streamRate: 100, openStreams: 5000 },
  pinning: 'taskset',
  machine: { cores: 2, cpuModel: 'Test CPU', platform: 'linux x64', node: 'v20.20.2', autocannon: '8.0.0' },
  targets: { direct: { label: 'd', notes: '' }, floor: { label: 'f', notes: '' }, ours: { label: 'o', notes: '' }, portkey: { label: 'p', notes: '' } },
  phases: {
    max: {
      direct: { requestsPerSec: 30000, latencyMs: { p50: 1, p99: 2 } },
      floor: { requestsPerSec: 10000, latencyMs: { p50: 4, p99: 8 }, cpuUsPerRequest: 100, allocBytesPerRequest: 20000 },
      ours: { requestsPerSec: 12000, latencyMs: { p50: 4, p99: 7 }, cpuUsPerRequest: 80, allocBytesPerRequest: 25000 },
      portkey: { requestsPerSec: 1000, latencyMs: { p50: 40, p99: 80 }, cpuUsPerRequest: 1200, allocBytesPerRequest: 220000 },
    },
    latency: {
      direct: [step(250, 100, 200), step(1000, 110, 250)],
      floor: [step(250, 200, 400), step(1000, 220, 600)],
      ours: [step(250, 250, 500), step(1000, 260, 900)],
      portkey: [step(250, 900, 5000), step(1000, 90000, 400000, { saturated: true, achieved: 700 })],
    },
    stream: {
      direct: { ttfbUs: lat(300, 600), latencyUs: lat(25000, 30000), errors: 0 },
      ours: { ttfbUs: lat(700, 1500), latencyUs: lat(25500, 31000), errors: 0 },
    },
    peakRequestLoad: { ours: { maxRss: 80 * 1024 * 1024 }, floor: { maxRss: 60 * 1024 * 1024 }, portkey: { maxRss: 210 * 1024 * 1024 } },
    openStreams: { ours: { requested: 5000, open: 5000, errors: 0, bytesPerStream: 9000, heapBytesPerStream: 4000 } },
    scaling: {
      connections: 50,
      seconds: 8,
      warmupSeconds: 2,
      cpuFrom: '/proc',
      layouts: [
        { name: 'pinned', short: 'gateway CPU 1, load CPU 0', label: 'gateway on CPU 1' },
        { name: 'shared', short: 'all on CPUs 0-1', label: 'everything on CPUs 0-1' },
      ],
      rows: [
        { target: 'floor', workers: 1, layout: 'pinned', requestsPerSec: 10000, latencyMs: { p50: 4, p99: 8 }, errors: 0, non2xx: 0, cpuUsPerRequest: 100, cpuCores: 1 },
        { target: 'ours', workers: 1, layout: 'pinned', requestsPerSec: 12000, latencyMs: { p50: 4, p99: 7 }, errors: 0, non2xx: 0, cpuUsPerRequest: 80, cpuCores: 0.96 },
        { target: 'ours', workers: 2, layout: 'pinned', requestsPerSec: 9000, latencyMs: { p50: 5, p99: 9 }, errors: 0, non2xx: 0, cpuUsPerRequest: 110, primaryCpuUsPerRequest: 30, cpuCores: 0.99 },
        { target: 'ours', workers: 1, layout: 'shared', requestsPerSec: 11000, latencyMs: { p50: 4, p99: 8 }, errors: 0, non2xx: 0, cpuUsPerRequest: 85, cpuCores: 0.94 },
        { target: 'ours', workers: 2, layout: 'shared', requestsPerSec: 16500, latencyMs: { p50: 3, p99: 6 }, errors: 0, non2xx: 2, cpuUsPerRequest: 105, primaryCpuUsPerRequest: 28, cpuCores: 1.73, processesChanged: true },
      ],
    },
  },
};

describe('benchmark report', () => {
  it('computes added latency against the direct run at the same rate', () => {
    expect(added(results, 'ours', 1000, 'p50')).toBe(150);
    expect(added(results, 'ours', 1000, 'p99')).toBe(650);
    expect(added(results, 'ours', 4000, 'p50')).toBeUndefined();
  });

  it('judges every goal from the measurements', () => {
    const byId = Object.fromEntries(evaluateGoals(results).map((g) => [g.id, g]));
    expect(byId.throughput?.met).toBe(true);
    expect(byId['p50-1000']?.met).toBe(true);
    expect(byId['p99-1000']?.met).toBe(true);
    expect(byId.ttfb?.met).toBe(true);
    expect(byId.cpu?.met).toBe(true);
    expect(byId.alloc?.met).toBe(true);
    expect(byId.rss?.met).toBe(true);
    const slower = { ...results, phases: { ...results.phases, max: { ...results.phases.max, ours: { ...results.phases.max.ours, requestsPerSec: 9000, cpuUsPerRequest: 150 } } } };
    const judged = Object.fromEntries(evaluateGoals(slower).map((g) => [g.id, g]));
    expect(judged.throughput?.met).toBe(false);
    expect(judged.cpu?.met).toBe(false);
    const noisy = { ...results, phases: { ...results.phases, stream: { ...results.phases.stream, ours: { ...results.phases.stream.ours, ttfbUs: lat(100, 200) } } } };
    expect(Object.fromEntries(evaluateGoals(noisy).map((g) => [g.id, g])).ttfb?.met).toBeUndefined();
  });

  it('writes the tables, the command, the machine and the chart link', () => {
    const md = renderReport(results, 'The profile shows X.');
    expect(md).toContain('`npm run bench`');
    expect(md).toContain('2 cores, Test CPU');
    expect(md).toContain('| ours | 12,000 | 12× | 1.20× |');
    expect(md).toContain('![latency against offered load](performance-latency.svg)');
    expect(md).toContain('(sat. 700/s)');
    expect(md).toContain('## Analysis\n\nThe profile shows X.');
  });

  it('says how each target was warmed up before the max window, when the run recorded it', () => {
    expect(renderReport(results)).not.toContain('warm-up');
    const warmed = {
      ...results,
      plan: { ...results.plan, maxWarmupSeconds: 2, maxWarmupRequests: 5000, maxWarmupCapSeconds: 40 },
      phases: { ...results.phases, max: { ...results.phases.max, portkey: { ...results.phases.max.portkey, warmup: { requests: 5210, seconds: 16.04 } } } },
    };
    expect(renderReport(warmed)).toContain('at least 5,000 requests and 2 s (at most 40 s), so a slow target is not measured while V8 is still optimising it (here: portkey 5,210 in 16.0 s).');
  });

  it('writes the multi-core scaling table, each ratio against 1 worker in the same pinning', () => {
    const md = renderReport(results);
    expect(md).toContain('## Multi-core scaling (`serve --workers N`, 50 connections, closed loop, 8 s)');
    expect(md).toContain('| floor | — | gateway CPU 1, load CPU 0 | 10,000 | — | 4.00 ms | 8.00 ms | 100 µs | — | 1.00 | 0 |');
    expect(md).toContain('| ours | 2 | gateway CPU 1, load CPU 0 | 9,000 | 0.75× | 5.00 ms | 9.00 ms | 110 µs | 30 µs | 0.99 | 0 |');
    expect(md).toContain('| ours | 2 | all on CPUs 0-1 | 16,500 | 1.50× | 3.00 ms | 6.00 ms | 105 µs (a process exited) | 28 µs | 1.73 | 2 |');
    expect(md).toContain('the best of `--workers 2` (all on CPUs 0-1) served 16,500 req/s, 1.38× one worker on its own core (12,000 req/s)');
    expect(md).toContain('- **all on CPUs 0-1**: everything on CPUs 0-1.');
    const without = renderReport({ ...results, phases: { ...results.phases, scaling: undefined } });
    expect(without).toContain('## Multi-core scaling\n\nNot measured in this run (`--phases scaling`).');
    expect(renderConsoleTable(results)).toContain('scaling shared ours ×2: 16,500 req/s (1.50× 1 worker), CPU / req 105 µs');
  });

  it('draws one p50 and one p99 line per target in the SVG', () => {
    const svg = renderSvg(results);
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg.match(/<polyline /g)).toHaveLength(8);
    expect(svg).toContain('>portkey</text>');
  });

  it('formats durations and sizes', () => {
    expect(fmtUs(850)).toBe('850 µs');
    expect(fmtUs(1500)).toBe('1.50 ms');
    expect(fmtUs(-120)).toBe('−120 µs');
    expect(fmtBytes(30 * 1024)).toBe('30.0 KB');
  });
});
