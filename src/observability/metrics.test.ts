import { describe, expect, it } from 'vitest';
import type { RequestFinishedEvent } from './events.js';
import { ChunkTimings } from './chunk-timings.js';
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

describe('streaming client instruments', () => {
  const attempt = {
    requestId: 'r1',
    alias: 'm',
    deployment: 'd',
    genAiProvider: 'openai',
    upstreamModel: 'gpt-x',
    responseModel: 'gpt-x-2025',
    serverAddress: 'api.example',
    serverPort: 443,
    operation: 'chat' as const,
    attempt: 1,
    status: 200,
    durationMs: 2_000,
  };

  it('record time to first chunk and merge the per-chunk gaps, without error_type; a JSON attempt records neither', async () => {
    const m = new GatewayMetrics({ version: 'test', deployments: ['d'] });
    const t = new ChunkTimings();
    t.arrived(100, 1);
    t.arrived(130, 1);
    t.arrived(1_430, 2);
    m.attemptFinished({ ...attempt, outcome: 'reset', timeToFirstChunkMs: 100, chunkGaps: t.gaps });
    m.attemptFinished({ ...attempt, outcome: 'success' });
    const text = await m.text();
    const labels = 'gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-x",gen_ai_response_model="gpt-x-2025",server_address="api.example",server_port="443"';
    expect(sample(text, `gen_ai_client_operation_time_to_first_chunk_seconds_count{${labels}}`)).toBe(1);
    expect(sample(text, `gen_ai_client_operation_time_to_first_chunk_seconds_sum{${labels}}`)).toBeCloseTo(0.1);
    expect(sample(text, `gen_ai_client_operation_time_per_output_chunk_seconds_count{${labels}}`)).toBe(3);
    expect(sample(text, `gen_ai_client_operation_time_per_output_chunk_seconds_bucket{le="0.01",${labels}}`)).toBe(1);
    expect(sample(text, `gen_ai_client_operation_time_per_output_chunk_seconds_bucket{le="0.04",${labels}}`)).toBe(2);
    expect(sample(text, `gen_ai_client_operation_time_per_output_chunk_seconds_bucket{le="2.56",${labels}}`)).toBe(3);
    expect(sample(text, `gen_ai_client_operation_duration_seconds_count{gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="gpt-x",gen_ai_response_model="gpt-x-2025",error_type="reset",server_address="api.example",server_port="443"}`)).toBe(1);
  });

  it('server TTFT and TPOT count successful streams only, labelled with the serving provider and response model', async () => {
    const m = new GatewayMetrics({ version: 'test', deployments: ['d'] });
    const upstream = { genAiProvider: 'openai', upstreamModel: 'gpt-x', responseModel: 'gpt-x-2025', serverAddress: 'api.example', serverPort: 443 };
    const usage = { promptTokens: 3, completionTokens: 11 } as RequestFinishedEvent['usage'];
    const stream = { ...finished, stream: true, durationMs: 1_100, timeToFirstTokenMs: 100, upstream, usage };
    m.requestFinished(stream);
    m.requestFinished({ ...stream, outcome: 'upstream_error' });
    const text = await m.text();
    const labels = 'gen_ai_operation_name="chat",gen_ai_provider_name="openai",gen_ai_request_model="m",gen_ai_response_model="gpt-x-2025"';
    expect(sample(text, `gen_ai_server_time_to_first_token_seconds_count{${labels}}`)).toBe(1);
    expect(sample(text, `gen_ai_server_time_per_output_token_seconds_sum{${labels}}`)).toBeCloseTo(0.1);
    expect(sample(text, `gen_ai_server_request_duration_seconds_count{${labels},error_type="upstream_error"}`)).toBe(1);
  });
});
