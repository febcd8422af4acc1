/**
 * Attack on the streaming attempt record (StreamValue.end): every committed stream's attempt
 * ends in exactly one attemptFinished event, whatever cuts it (client, deadline, upstream reset,
 * stall, in-band error, drain), in every stream framing, and the metric samples agree with the
 * events (none missing, none doubled). Real sockets against the fakes.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AttemptEvent, RequestFinishedEvent } from '../../src/observability/events.js';
import type { FakeDialectName, Fault } from '../../src/testing/fake-upstream/script.js';
import type { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, parseMetrics, pollUntil, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

interface Seen {
  attempts: AttemptEvent[];
  requests: RequestFinishedEvent[];
}

const AWS = { AWS_ACCESS_KEY_ID: 'AKIAFAKEFAKEFAKEFAKE', AWS_SECRET_ACCESS_KEY: 'fake-secret-key-0123456789', PROVIDER_KEY: 'provider-key-0123456789' };

function deployment(dialect: FakeDialectName, fake: FakeUpstream): Record<string, unknown> {
  if (dialect === 'bedrock') return { provider: 'bedrock', baseUrl: fake.baseUrl, aws: { region: 'us-east-1', accessKeyId: '${env:AWS_ACCESS_KEY_ID}', secretAccessKey: '${env:AWS_SECRET_ACCESS_KEY}' } };
  if (dialect === 'gemini') return deploymentFor(fake, { apiKey: '${env:PROVIDER_KEY}' });
  if (dialect === 'anthropic') return deploymentFor(fake, { apiKey: '${env:PROVIDER_KEY}' });
  return deploymentFor(fake);
}

async function start(dialect: FakeDialectName, extra: Record<string, unknown> = {}, behaviour: Record<string, unknown> = {}): Promise<{ harness: Harness; seen: Seen }> {
  const seen: Seen = { attempts: [], requests: [] };
  h = await startHarness({
    fakes: [{ dialect, behaviour: { chunks: 6, chunkIntervalMs: 20, ...behaviour } }],
    env: AWS,
    eventSinks: [{ attemptFinished: (e) => seen.attempts.push(e), requestFinished: (e) => seen.requests.push(e) }],
    config: (f) => ({
      retry: { maxAttempts: 1 },
      deployments: { d: deployment(dialect, f[0] as FakeUpstream) },
      models: { m: { targets: [{ deployment: 'd', model: dialect === 'bedrock' ? 'anthropic.claude-3-haiku-20240307-v1:0' : 'x', ...(dialect === 'anthropic' || dialect === 'bedrock' ? { defaultMaxTokens: 64 } : {}) }] } },
      ...extra,
    }),
  });
  return { harness: h, seen };
}

/** Waits for the request's end, then checks one attempt event and the metric samples agree with it. */
async function oneAttempt(harness: Harness, seen: Seen): Promise<AttemptEvent> {
  expect(await pollUntil(() => seen.requests.some((r) => r.operation !== undefined), 5_000)).toBe(true);
  // Anything late (a second end) would show within a few turns.
  await new Promise((r) => setTimeout(r, 50));
  const api = seen.requests.filter((r) => r.operation !== undefined);
  expect(api).toHaveLength(1);
  expect(seen.attempts).toHaveLength(1);
  const e = seen.attempts[0]!;
  const text = await harness.gateway.metrics.text();
  const samples = parseMetrics(text);
  const sum = (name: string) => samples.filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
  expect(sum('gateway_upstream_attempts_total')).toBe(1);
  expect(sum('gen_ai_client_operation_duration_seconds_count')).toBe(1);
  const duration = samples.find((s) => s.name === 'gen_ai_client_operation_duration_seconds_count')!;
  expect(duration.labels.error_type).toBe(e.outcome === 'success' ? '' : e.outcome);
  // The duration covers at least what the request waited for after the attempt started.
  expect(e.durationMs).toBeGreaterThanOrEqual(api[0]!.timeToFirstTokenMs === undefined ? 0 : api[0]!.timeToFirstTokenMs - api[0]!.upstreamMs - 5);
  return e;
}

const dialects: FakeDialectName[] = ['openai', 'anthropic', 'gemini', 'bedrock', 'ollama'];

describe.each(dialects)('%s stream: one attempt event however it ends', (dialect) => {
  it('complete', async () => {
    const { harness, seen } = await start(dialect);
    const res = await chat(harness.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    const e = await oneAttempt(harness, seen);
    expect(e.outcome).toBe('success');
    expect(e.timeToFirstChunkMs).toBeDefined();
    expect(e.chunkGaps?.count ?? 0).toBeGreaterThan(0);
  });

  // Past the commit point: Anthropic opens with message_start, content_block_start and a ping.
  const k = dialect === 'anthropic' ? 5 : 3;
  const cuts: Array<[string, Fault, string]> = [
    ['reset', { kind: 'reset-mid-stream', afterChunks: k }, 'reset'],
    ['error event', { kind: 'error-event', afterChunks: k }, 'server_error'],
    ['stall', { kind: 'stall', afterChunks: k }, 'timeout'],
  ];
  it.each(cuts)('cut by %s after the commit point', async (_name, fault, outcome) => {
    const { harness, seen } = await start(dialect, { timeouts: { idleMs: 300 } });
    (harness.fakes[0] as FakeUpstream).enqueue(fault);
    const res = await chat(harness.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    const e = await oneAttempt(harness, seen);
    expect(e.outcome).toBe(outcome);
  });
});

describe('openai stream cut by the gateway or the client', () => {
  it('the total deadline mid-stream (a trickling upstream): one timeout', async () => {
    const { harness, seen } = await start('openai', { timeouts: { totalMs: 400 } });
    (harness.fakes[0] as FakeUpstream).enqueue({ kind: 'trickle', afterChunks: 3, intervalMs: 20 });
    const res = await chat(harness.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    const e = await oneAttempt(harness, seen);
    expect(e.outcome).toBe('timeout');
    expect(e.durationMs).toBeGreaterThanOrEqual(300);
  });

  it('the client leaving mid-stream: one aborted', async () => {
    const { harness, seen } = await start('openai', {}, { chunkIntervalMs: 100, chunks: 20 });
    const controller = new AbortController();
    const pending = chat(harness.url, chatBody('m', { stream: true }), { signal: controller.signal }).catch(() => undefined);
    expect(await pollUntil(() => (harness.fakes[0] as FakeUpstream).stats.requests > 0, 2_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 250));
    controller.abort();
    await pending;
    const e = await oneAttempt(harness, seen);
    expect(e.outcome).toBe('aborted');
  });

  it('a drain whose grace ends mid-stream: one aborted', async () => {
    const { harness, seen } = await start('openai', { server: { drainDelayMs: 10, shutdownGraceMs: 300 } });
    (harness.fakes[0] as FakeUpstream).enqueue({ kind: 'stall', afterChunks: 3 });
    const pending = chat(harness.url, chatBody('m', { stream: true }));
    expect(await pollUntil(() => (harness.fakes[0] as FakeUpstream).stats.requests > 0, 2_000)).toBe(true);
    await new Promise((r) => setTimeout(r, 100));
    const shutdown = harness.gateway.shutdown();
    expect((await pending).status).toBe(200);
    await shutdown;
    const e = await oneAttempt(harness, seen);
    expect(e.outcome).toBe('aborted');
  });

  it('include_usage: the held usage chunk does not add or lose an attempt', async () => {
    const { harness, seen } = await start('openai');
    const res = await chat(harness.url, chatBody('m', { stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    const e = await oneAttempt(harness, seen);
    expect(e.outcome).toBe('success');
  });

  it('/v1/messages from an Anthropic upstream: one success', async () => {
    const { harness, seen } = await start('anthropic');
    const res = await chat(harness.url, { model: 'm', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { path: '/v1/messages' });
    expect(res.status).toBe(200);
    const e = await oneAttempt(harness, seen);
    expect(e.outcome).toBe('success');
  });

  it('/v1/messages from an OpenAI upstream, reset mid-stream: one reset', async () => {
    const { harness, seen } = await start('openai');
    (harness.fakes[0] as FakeUpstream).enqueue({ kind: 'reset-mid-stream', afterChunks: 3 });
    const res = await chat(harness.url, { model: 'm', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] }, { path: '/v1/messages' });
    expect(res.status).toBe(200);
    const e = await oneAttempt(harness, seen);
    expect(e.outcome).toBe('reset');
  });
});
