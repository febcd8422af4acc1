import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { added, evaluateGoals, fmtBytes, fmtUs, renderConsoleTable, renderReport, renderSvg, reportFiles, type BenchResults } from '../bench/lib/report.mjs';

// The benchmark itself is not part of npm test (it takes minutes); its report generator is.
const root = new URL('..', import.meta.url);
const read = (path: string) => readFileSync(new URL(path, root), 'utf8');
const MB = 1024 * 1024;

describe('docs/performance.md', () => {
  // Every number in the published report must be what the committed raw results render to, so a
  // hand edit or a run whose raw results were not committed cannot drift from what was measured.
  it('and every docs/performance-*.svg are what the committed raw results render to', () => {
    const raw = JSON.parse(read('bench/results/latest.raw.json')) as BenchResults;
    const files = reportFiles(raw, read('bench/analysis.md'));
    for (const [path, text] of Object.entries(files)) expect(read(path), path).toBe(text);
    const svgs = readdirSync(new URL('docs/', root)).filter((f) => /^performance-.*\.svg$/.test(f)).map((f) => `docs/${f}`);
    expect(svgs.sort()).toEqual(Object.keys(files).filter((f) => f.endsWith('.svg')).sort());
  });
});
const lat = (p50: number, p99: number) => ({ count: 100, mean: p50, p50, p90: p99, p99, p999: p99, max: p99 });
const step = (offered: number, p50: number, p99: number, extra: Record<string, unknown> = {}) => ({ offered, sent: offered, ok: offered, errors: 0, achieved: offered, latencyUs: lat(p50, p99), saturated: false, ...extra });

const results: BenchResults = {
  startedAt: '2026-12-02T03:00:00.000Z',
  quick: false,
  plan: { connections: 50, maxSeconds: 8, streamRate: 100, openStreams: 5000, c1Seconds: 8, c1WarmupSeconds: 1 },
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
      floor: [step(250, 200, 400), step(1000, 220, 600, { cpuUsPerRequest: 150 })],
      ours: [step(250, 250, 500), step(1000, 260, 900, { cpuUsPerRequest: 140 })],
      portkey: [step(250, 900, 5000), step(1000, 90000, 400000, { saturated: true, achieved: 700 })],
    },
    stream: {
      direct: { ttfbUs: lat(300, 600), latencyUs: lat(25000, 30000), errors: 0 },
      floor: { ttfbUs: lat(500, 900), latencyUs: lat(25200, 30500), errors: 0 },
      ours: { ttfbUs: lat(650, 1500), latencyUs: lat(25500, 31000), errors: 0 },
    },
    c1: {
      direct: { ok: 40000, errors: 0, latencyUs: lat(100, 150) },
      floor: { ok: 30000, errors: 0, latencyUs: lat(180, 260), cpuUsPerRequest: 60, allocBytesPerRequest: 9000 },
      ours: { ok: 29000, errors: 0, latencyUs: lat(200, 300), cpuUsPerRequest: 70, allocBytesPerRequest: 12000 },
      portkey: { ok: 1200, errors: 0, latencyUs: lat(900, 1500) },
    },
    idle: { floor: { rss: 40 * MB }, ours: { rss: 50 * MB }, portkey: { rss: 79 * MB } },
    peakMaxLoad: { floor: { maxRss: 70 * MB }, ours: { maxRss: 100 * MB }, portkey: { maxRss: 200 * MB } },
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

  const judge = (r: BenchResults) => Object.fromEntries(evaluateGoals(r).map((g) => [g.id, g]));
  const withPhases = (phases: Record<string, unknown>): BenchResults => ({ ...results, phases: { ...results.phases, ...phases } });
  const p = results.phases;

  it('judges every goal of issue 17 against the floor measured in the same run', () => {
    const byId = judge(results);
    expect(Object.keys(byId)).toEqual(['throughput', 'cpu', 'alloc', 'c1', 'p99-1000', 'ttfb', 'idle-rss', 'peak-rss']);
    for (const g of Object.values(byId)) expect(g.met, g.id).toBe(true);
    expect(byId.throughput).toMatchObject({ ours: '12,000 req/s (1.20× the floor)', floor: '10,000 req/s' });
    expect(byId.cpu).toMatchObject({ ours: '140 µs', floor: '150 µs' });
    // Ours adds 100 µs at c=1, the floor 80: within 50 µs.
    expect(byId.c1).toMatchObject({ ours: '100 µs added, p50 200 µs', floor: '80 µs added, p50 180 µs' });
    expect(byId['p99-1000']).toMatchObject({ ours: '650 µs added', floor: '350 µs added' });
    expect(byId.ttfb).toMatchObject({ ours: '350 µs added, p50 650 µs', floor: '200 µs added, p50 500 µs' });
    expect(byId['idle-rss']).toMatchObject({ ours: '50.0 MB', floor: '40.0 MB' });
    expect(byId['peak-rss']).toMatchObject({ ours: '100.0 MB', floor: '70.0 MB' });
  });

  it('says where a goal is missed, with the measured numbers', () => {
    const worse = withPhases({
      max: { ...p.max, ours: { ...p.max.ours, requestsPerSec: 9000, allocBytesPerRequest: 40 * 1024 } },
      latency: { ...p.latency, ours: [step(250, 250, 500), step(1000, 300, 1400, { cpuUsPerRequest: 151 })] },
      c1: { ...p.c1, ours: { ...p.c1.ours, latencyUs: lat(231, 300) } },
      stream: { ...p.stream, ours: { ...p.stream.ours, ttfbUs: lat(701, 1500) } },
      idle: { ...p.idle, ours: { rss: 61 * MB } },
      peakMaxLoad: { ...p.peakMaxLoad, ours: { maxRss: 121 * MB } },
    });
    const byId = judge(worse);
    for (const g of Object.values(byId)) expect(g.met, g.id).toBe(false);
    expect(byId.throughput?.ours).toBe('9,000 req/s (0.90× the floor)');
    // 131 µs added against the floor's 80: 51 µs over.
    expect(byId.c1?.ours).toBe('131 µs added, p50 231 µs');
    expect(byId['p99-1000']?.ours).toBe('1.15 ms added');
    const md = renderReport(worse);
    expect(md).toContain("| added latency p50 at c=1 within 50 µs of the floor's | 131 µs added, p50 231 µs | 80 µs added, p50 180 µs | **no** |");
  });

  it('does not pass a goal the run cannot judge', () => {
    const byId = judge(
      withPhases({
        max: { ...p.max, floor: undefined, ours: { ...p.max.ours, total: 96000, non2xx: 5000 } },
        latency: { ...p.latency, floor: [step(1000, 220, 600, { cpuUsPerRequest: 150, saturated: true, achieved: 900 })] },
        c1: { ...p.c1, ours: { ...p.c1.ours, latencyUs: lat(90, 300) } },
        stream: { direct: p.stream.direct, ours: p.stream.ours },
      }),
    );
    expect(byId.throughput).toMatchObject({ met: undefined, why: 'the floor was not measured' });
    expect(byId.cpu).toMatchObject({ met: undefined, why: 'the floor saturated at 1,000 req/s' });
    expect(byId.c1).toMatchObject({ met: undefined, why: 'ours below direct: too noisy to judge' });
    expect(byId.ttfb).toMatchObject({ met: undefined, why: 'the floor was not measured', floor: undefined });
    const refusing = judge(withPhases({ max: { ...p.max, ours: { ...p.max.ours, total: 96000, non2xx: 5000 } } }));
    expect(refusing.throughput).toMatchObject({ met: undefined, why: 'ours answered 5,000 errors' });
    // Ours unable to hold 1,000 req/s misses the p99 goal; direct saturated cannot judge it.
    const oursSat = judge(withPhases({ latency: { ...p.latency, ours: [step(1000, 900, 90000, { saturated: true, achieved: 800 })] } }));
    expect(oursSat['p99-1000']).toMatchObject({ met: false, ours: '89.8 ms added (saturated: 800/s served)' });
    const directSat = judge(withPhases({ latency: { ...p.latency, direct: [step(1000, 110, 250, { saturated: true })] } }));
    expect(directSat['p99-1000']).toMatchObject({ met: undefined, why: 'direct saturated at 1,000 req/s' });
    // Saturated below 1,000 req/s, so never tried there: the p99 goal is missed, the CPU one cannot be compared.
    const early = judge(withPhases({ latency: { ...p.latency, ours: [step(250, 900, 300000, { saturated: true, achieved: 200 })] } }));
    expect(early['p99-1000']).toMatchObject({ met: false, ours: 'saturated at 250 req/s (200/s served)' });
    expect(early.cpu).toMatchObject({ met: undefined, ours: 'saturated at 250 req/s', why: 'ours never reached 1,000 req/s' });
    const floorEarly = judge(withPhases({ latency: { ...p.latency, floor: [step(250, 900, 300000, { saturated: true, achieved: 200 })] } }));
    expect(floorEarly.cpu).toMatchObject({ met: undefined, floor: 'saturated at 250 req/s', why: 'the floor never reached 1,000 req/s' });
  });

  it('renders a run from before c=1, idle and max-load RSS were measured, saying so', () => {
    const old = withPhases({ c1: undefined, idle: undefined, peakMaxLoad: undefined });
    const byId = judge(old);
    for (const id of ['c1', 'idle-rss', 'peak-rss']) expect(byId[id], id).toMatchObject({ ours: undefined, met: undefined });
    const md = renderReport(old);
    expect(md).toContain('| idle RSS ≤ 60 MB | not measured | not measured | not measured |');
    expect(md).toContain('## Added latency at c=1\n\nNot measured in this run (`--phases c1`).');
    expect(md).toContain('| ours | not measured | not measured | 80.0 MB |');
    expect(renderConsoleTable(old)).toContain('- idle RSS ≤ 60 MB: ours not measured, floor not measured (not measured)');
  });

  it('writes the c=1 table and the idle and max-load RSS', () => {
    const md = renderReport(results);
    expect(md).toContain('## Added latency at c=1 (one connection, closed loop, 8 s)');
    expect(md).toContain('| ours | 29,000 | 200 µs | 300 µs | 300 µs | 100 µs | 150 µs | 70 µs | 11.7 KB | 0 |');
    expect(md).toContain('| direct | 40,000 | 100 µs | 150 µs | 150 µs | — | — | n/a | n/a | 0 |');
    expect(md).toContain('| ours | 50.0 MB | 100.0 MB | 80.0 MB |');
    expect(md).toContain("| max throughput ≥ 1.0× the floor's, with auth, a token bucket per tenant, metrics, the access log and cost accounting on (every deployment target is priced in bench/lib/workload.mjs) | 12,000 req/s (1.20× the floor) | 10,000 req/s | yes |");
    expect(renderConsoleTable(results)).toContain('✓ idle RSS ≤ 60 MB: ours 50.0 MB, floor 40.0 MB');
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
