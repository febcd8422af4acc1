import { describe, expect, it } from 'vitest';
import type { RequestFinishedEvent } from './events.js';
import { GatewayMetrics, maxTeamLabels, overheadMs } from './metrics.js';

const finished: RequestFinishedEvent = {
  requestId: 'r1',
  route: '/v1/chat/completions',
  operation: 'chat',
  tenant: 't',
  model: 'm',
  servedModel: 'm',
  deployment: 'd',
  attempts: 1,
  status: 200,
  outcome: 'success',
  errorCode: undefined,
  stream: false,
  durationMs: 10.3,
  timeToFirstTokenMs: undefined,
  upstreamMs: 10,
  usage: undefined,
  upstream: undefined,
};

function sample(text: string, line: string): number {
  const found = text.split('\n').find((l) => l.startsWith(`${line} `));
  if (found === undefined) throw new Error(`no sample ${line}`);
  return Number(found.slice(line.length + 1));
}

describe('gateway_overhead_seconds', () => {
  it('is the request duration minus upstream waits', async () => {
    const m = new GatewayMetrics({ version: 'test', deployments: ['d'] });
    m.requestFinished(finished);
    const text = await m.text();
    expect(sample(text, 'gateway_overhead_seconds_bucket{le="0.00025",route="/v1/chat/completions"}')).toBe(0);
    expect(sample(text, 'gateway_overhead_seconds_bucket{le="0.0005",route="/v1/chat/completions"}')).toBe(1);
    expect(sample(text, 'gateway_overhead_seconds_count{route="/v1/chat/completions"}')).toBe(1);
  });

  it('counts a stream up to its first chunk, not the time the upstream spent generating', () => {
    const stream = { ...finished, stream: true, durationMs: 4000, timeToFirstTokenMs: 12, upstreamMs: 11.5 };
    expect(overheadMs(stream)).toBeCloseTo(0.5);
    expect(overheadMs(finished)).toBeCloseTo(0.3);
  });
});

describe('gateway_event_loop_delay_seconds', () => {
  it('reports p50, p99 and max of the event-loop delay since the previous scrape', async () => {
    const m = new GatewayMetrics({ version: 'test', deployments: [] });
    // Block the loop for ~60 ms so the monitor sees a late timer.
    await new Promise((r) => setTimeout(r, 30));
    const until = Date.now() + 60;
    while (Date.now() < until);
    await new Promise((r) => setTimeout(r, 30));
    const text = await m.text();
    expect(sample(text, 'gateway_event_loop_delay_seconds{quantile="1"}')).toBeGreaterThan(0.04);
    expect(sample(text, 'gateway_event_loop_delay_seconds{quantile="0.5"}')).toBeGreaterThan(0);
    expect(sample(text, 'gateway_event_loop_delay_seconds{quantile="0.99"}')).toBeGreaterThan(0);
  });
});

describe('gateway_cost_usd_total', () => {
  it('sums per-request costs exactly: 100,000 requests of $0.000042 are $4.20, not 4.2000000000x', async () => {
    const m = new GatewayMetrics({ version: 'test', deployments: ['d'] });
    for (let i = 0; i < 100_000; i++) m.requestFinished({ ...finished, costPico: 42_000_000 });
    expect(sample(await m.text(), 'gateway_cost_usd_total{model="m",deployment="d",team="t"}')).toBe(4.2);
    let float = 0;
    for (let i = 0; i < 100_000; i++) float += 0.000042;
    expect(float).not.toBe(4.2); // what a plain counter would show
  });

  it('labels cost by model, deployment and team, counting teams past the cap as "other"', async () => {
    const m = new GatewayMetrics({ version: 'test', deployments: ['d'] });
    for (let i = 0; i < maxTeamLabels + 5; i++) m.requestFinished({ ...finished, tenant: `team-${i}`, costPico: 1_000_000_000_000 });
    const text = await m.text();
    expect(sample(text, `gateway_cost_usd_total{model="m",deployment="d",team="team-${maxTeamLabels - 1}"}`)).toBe(1);
    expect(sample(text, 'gateway_cost_usd_total{model="m",deployment="d",team="other"}')).toBe(5);
    expect(text.split('\n').filter((l) => l.startsWith('gateway_cost_usd_total{')).length).toBe(maxTeamLabels + 1);
  });

  it('counts requests served unpriced (cost null) instead of costing them, and ignores requests nothing served', async () => {
    const m = new GatewayMetrics({ version: 'test', deployments: ['d'] });
    m.requestFinished({ ...finished, costPico: null });
    m.requestFinished({ ...finished, costPico: null });
    m.requestFinished({ ...finished, servedModel: undefined, deployment: undefined, costPico: undefined, status: 503, outcome: 'no_available_target' });
    const text = await m.text();
    expect(sample(text, 'gateway_cost_unpriced_total{model="m"}')).toBe(2);
    expect(text).not.toMatch(/^gateway_cost_usd_total\{/m);
  });
});
