import { describe, expect, it } from 'vitest';
import type { RequestFinishedEvent } from './events.js';
import { GatewayMetrics, overheadMs } from './metrics.js';

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
