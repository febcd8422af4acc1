/**
 * The streaming GenAI client instruments (issue 13, Metrics): per upstream attempt,
 * `gen_ai.client.operation.time_to_first_chunk` (request sent → first chunk received),
 * `.time_per_output_chunk` (one observation per chunk after the first) and
 * `.duration` covering the whole stream, with the attempt's `error_type` when the stream
 * fails after its commit point. Real sockets against the fake upstreams; the fake's own
 * delays give lower bounds only (nothing here asserts an upper time bound).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, parseMetrics, scrapeMetrics, startHarness, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const interval = 40;
const pieces = 5;

async function start(): Promise<Harness> {
  h = await startHarness({
    fakes: [{ dialect: 'openai', name: 'slow', behaviour: { ttftMs: 30, chunkIntervalMs: interval, chunks: pieces } }],
    config: (f) => ({
      retry: { maxAttempts: 1 },
      deployments: { d: deploymentFor(f[0] as FakeUpstream) },
      models: { m: { targets: [{ deployment: 'd', model: 'x' }] } },
    }),
  });
  return h;
}

const samples = (text: string, name: string) => parseMetrics(text).filter((s) => s.name === name);
const one = (text: string, name: string, labels: Record<string, string> = {}): number => {
  const found = samples(text, name).filter((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v));
  if (found.length !== 1) throw new Error(`${name} ${JSON.stringify(labels)}: ${found.length} series`);
  return found[0]!.value;
};

describe('streaming client instruments', () => {
  it('a whole stream: duration covers every chunk, the first chunk is timed once, and each later chunk once', async () => {
    const harness = await start();
    const res = await chat(harness.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    const events = res.events();
    expect(events.at(-1)).toBe('[DONE]');
    const text = await scrapeMetrics(harness.url);

    const ok = { error_type: '' };
    expect(one(text, 'gen_ai_client_operation_duration_seconds_count', ok)).toBe(1);
    // The fake waits `interval` between its pieces: the duration is at least all of them, where
    // it used to stop at the first chunk.
    expect(one(text, 'gen_ai_client_operation_duration_seconds_sum', ok)).toBeGreaterThanOrEqual(((pieces - 1) * interval) / 1000);

    expect(one(text, 'gen_ai_client_operation_time_to_first_chunk_seconds_count')).toBe(1);
    const ttfc = one(text, 'gen_ai_client_operation_time_to_first_chunk_seconds_sum');
    expect(ttfc).toBeGreaterThanOrEqual(0.03);
    expect(ttfc).toBeLessThan(one(text, 'gen_ai_client_operation_duration_seconds_sum', ok));

    // One observation per upstream chunk after the first: the client got the upstream's role,
    // pieces and finish as one event each, plus [DONE]; the upstream also sent the usage chunk
    // the gateway asks for (the client did not, so it never saw it). Events less the first and
    // [DONE], plus that one.
    const gaps = one(text, 'gen_ai_client_operation_time_per_output_chunk_seconds_count');
    expect(gaps).toBe(events.length - 2 + 1);
    expect(one(text, 'gen_ai_client_operation_time_per_output_chunk_seconds_sum')).toBeGreaterThanOrEqual(((pieces - 1) * interval) / 1000);
    // Buckets are cumulative and end with +Inf at the count.
    const inf = samples(text, 'gen_ai_client_operation_time_per_output_chunk_seconds_bucket').find((s) => s.labels.le === '+Inf');
    expect(inf?.value).toBe(gaps);
    // Labels: the client attributes without error_type (the conventions give these none).
    const series = samples(text, 'gen_ai_client_operation_time_per_output_chunk_seconds_count')[0]!;
    expect(Object.keys(series.labels).sort()).toEqual(['gen_ai_operation_name', 'gen_ai_provider_name', 'gen_ai_request_model', 'gen_ai_response_model', 'server_address', 'server_port']);
    expect(series.labels.gen_ai_request_model).toBe('x');
  });

  it('a stream cut after its commit point: the attempt is recorded once, with how it failed, over its whole length', async () => {
    const harness = await start();
    harness.fakes[0]!.enqueue({ kind: 'reset-mid-stream', afterChunks: 4 });
    const res = await chat(harness.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    const text = await scrapeMetrics(harness.url);
    const attempts = samples(text, 'gateway_upstream_attempts_total');
    expect(attempts.map((s) => s.value).reduce((a, b) => a + b, 0)).toBe(1);
    const failed = attempts[0]!.labels.outcome!;
    expect(failed).not.toBe('success');
    const durations = samples(text, 'gen_ai_client_operation_duration_seconds_count');
    expect(durations.map((s) => [s.labels.error_type, s.value])).toEqual([[failed, 1]]);
    expect(one(text, 'gen_ai_client_operation_duration_seconds_sum', { error_type: failed })).toBeGreaterThanOrEqual((2 * interval) / 1000);
    // The request: 200 sent, then the failure; the server side records the error, and no TTFT
    // (defined for successful responses).
    expect(samples(text, 'gen_ai_server_request_duration_seconds_count').map((s) => s.labels.error_type)).toEqual(['upstream_error']);
    expect(samples(text, 'gen_ai_server_time_to_first_token_seconds_count')).toEqual([]);
  });

  it('an error event after the commit point: error_type is the classified upstream error, not success', async () => {
    const harness = await start();
    harness.fakes[0]!.enqueue({ kind: 'error-event', afterChunks: 3 });
    const res = await chat(harness.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    const text = await scrapeMetrics(harness.url);
    const durations = samples(text, 'gen_ai_client_operation_duration_seconds_count');
    expect(durations).toHaveLength(1);
    expect(durations[0]!.labels.error_type).toBe('server_error');
    expect(one(text, 'gateway_upstream_attempts_total', { outcome: 'server_error' })).toBe(1);
  });

  it('a client that leaves mid-stream: the attempt ends as aborted', async () => {
    const harness = await start();
    const controller = new AbortController();
    const res = await fetch(`${harness.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: 'Bearer sk-test-main-0123456789', 'content-type': 'application/json' },
      body: JSON.stringify(chatBody('m', { stream: true })),
      signal: controller.signal,
    });
    const reader = res.body!.getReader();
    await reader.read();
    controller.abort();
    await reader.closed.catch(() => undefined);
    let text = '';
    for (let i = 0; i < 100; i++) {
      text = await scrapeMetrics(harness.url);
      if (samples(text, 'gen_ai_client_operation_duration_seconds_count').length > 0) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(samples(text, 'gen_ai_client_operation_duration_seconds_count').map((s) => s.labels.error_type)).toEqual(['aborted']);
  });
});
