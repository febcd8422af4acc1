import OpenAI, { APIError } from 'openai';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import {
  chat,
  chatBody,
  closedPort,
  deploymentFor,
  dispatcherOption,
  KEY,
  metric,
  metricValue,
  scrapeMetrics,
  startHarness,
  type Harness,
  type HarnessOptions,
} from './helpers/harness.js';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function start(options: HarnessOptions): Promise<Harness> {
  const h = await startHarness(options);
  open.push(h);
  return h;
}

type Json = Record<string, unknown>;

/** `n` openai fakes named a, b, … behind alias `m` (round robin, in that order). */
function fleet(n: number, extra: Json = {}, options: Partial<HarnessOptions> = {}): Promise<Harness> {
  const names = ['a', 'b', 'c'].slice(0, n);
  return start({
    fakes: names.map((name) => ({ dialect: 'openai' as const, name, behaviour: { chunks: 4 } })),
    config: (fakes) => ({
      deployments: Object.fromEntries(names.map((name, i) => [name, deploymentFor(fakes[i]!)])),
      models: { m: { targets: names.map((deployment) => ({ deployment, model: 'up-model' })) } },
      ...extra,
    }),
    ...options,
  });
}

function requests(fakes: readonly FakeUpstream[]): number[] {
  return fakes.map((f) => f.stats.requests);
}

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string } };

function expectOpenAiError(body: unknown, code: string, type: string): ErrorBody {
  expect(body).toEqual({ error: { message: expect.any(String), type, param: expect.toSatisfy((p: unknown) => p === null || typeof p === 'string'), code } });
  return body as ErrorBody;
}

/** Data events of a stream that ended in an in-band error: content chunks, then the error. */
function splitStream(events: string[]): { chunks: Json[]; errors: ErrorBody[]; done: boolean } {
  const parsed = events.filter((e) => e !== '[DONE]').map((e) => JSON.parse(e) as Json);
  return {
    chunks: parsed.filter((p) => !('error' in p)),
    errors: parsed.filter((p) => 'error' in p) as unknown as ErrorBody[],
    done: events.includes('[DONE]'),
  };
}

describe('F-01..F-04: retries, Retry-After and cooldowns', () => {
  it('F-01: 500 then 200 → 200 after a retry on the other deployment', async () => {
    const h = await fleet(2);
    const [a, b] = h.fakes;
    a!.enqueue({ kind: 'status', status: 500 });
    const before = await scrapeMetrics(h.url);
    const res = await chat(h.url, chatBody('m'));
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-attempts']).toBe('2');
    expect(res.headers['x-gateway-provider']).toBe('b');
    expect(requests([a!, b!])).toEqual([1, 1]);
    const after = await scrapeMetrics(h.url);
    const delta = (name: string, labels: Record<string, string> = {}): number => metricValue(after, name, labels) - metricValue(before, name, labels);
    expect(delta('gateway_upstream_attempts_total')).toBe(2);
    expect(delta('gateway_upstream_attempts_total', { deployment: 'a', outcome: 'server_error' })).toBe(1);
    expect(delta('gateway_upstream_attempts_total', { deployment: 'b', outcome: 'success' })).toBe(1);
    expect(delta('gateway_retries_total')).toBe(1);
    expect(delta('gateway_retries_total', { model: 'm', reason: 'server_error' })).toBe(1);
  });

  it('F-01: with a single deployment the retry goes to the same one after backoff', async () => {
    const h = await fleet(1);
    h.fakes[0]!.enqueue({ kind: 'status', status: 500 });
    const res = await chat(h.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    expect(res.events().at(-1)).toBe('[DONE]');
    expect(res.headers['x-gateway-attempts']).toBe('2');
    expect(h.fakes[0]!.stats.requests).toBe(2);
    expect(await metric(h.url, 'gateway_retries_total', { model: 'm', reason: 'server_error' })).toBe(1);
  });

  it('F-02: 500 on every attempt → 502 JSON error, x-should-retry false, within the deadline', async () => {
    const h = await fleet(1);
    h.fakes[0]!.setBehaviour({ failureRate: 1 });
    const t0 = performance.now();
    const res = await chat(h.url, chatBody('m'));
    const elapsed = performance.now() - t0;
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expect(res.headers['x-should-retry']).toBe('false');
    expect(res.headers['x-gateway-attempts']).toBe('3');
    const body = expectOpenAiError(res.json(), 'upstream_error', 'server_error');
    expect(body.error.message).toContain('500');
    expect(elapsed).toBeLessThan(8_000);
    expect(h.fakes[0]!.stats.requests).toBe(3);
    const text = await scrapeMetrics(h.url);
    expect(metricValue(text, 'gateway_upstream_attempts_total', { deployment: 'a', outcome: 'server_error' })).toBe(3);
    expect(metricValue(text, 'gateway_requests_total', { model: 'm', status_class: '5xx', outcome: 'upstream_error' })).toBe(1);
    // Three consecutive failures reach the breaker threshold (3): it counted every one.
    expect(metricValue(text, 'gateway_circuit_breaker_transitions_total', { deployment: 'a', from: 'closed', to: 'open' })).toBe(1);
  });

  it('F-03: 429 with Retry-After: 1 on a single deployment → waits it out, then 200; breaker untouched', async () => {
    const h = await fleet(1);
    h.fakes[0]!.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    const t0 = performance.now();
    const res = await chat(h.url, chatBody('m'));
    const elapsed = performance.now() - t0;
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-attempts']).toBe('2');
    expect(elapsed).toBeGreaterThanOrEqual(950);
    expect(h.fakes[0]!.stats.requests).toBe(2);
    const text = await scrapeMetrics(h.url);
    expect(metricValue(text, 'gateway_deployment_cooldowns_total', { deployment: 'a' })).toBe(1);
    expect(metricValue(text, 'gateway_upstream_attempts_total', { deployment: 'a', outcome: 'rate_limited' })).toBe(1);
    expect(metricValue(text, 'gateway_circuit_breaker_state', { deployment: 'a' })).toBe(0);
    expect(metricValue(text, 'gateway_circuit_breaker_transitions_total')).toBe(0);
  });

  it('F-04: 429 with Retry-After: 120 and no other deployment → immediate 429 with retry-after ≤ 120', async () => {
    const h = await fleet(1);
    h.fakes[0]!.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '120' } });
    const t0 = performance.now();
    const res = await chat(h.url, chatBody('m'));
    const elapsed = performance.now() - t0;
    expect(res.status).toBe(429);
    expect(elapsed).toBeLessThan(1_000);
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(120);
    expect(Number(res.headers['retry-after-ms'])).toBeGreaterThan(0);
    expect(Number(res.headers['retry-after-ms'])).toBeLessThanOrEqual(120_000);
    expectOpenAiError(res.json(), 'upstream_rate_limited', 'rate_limit_error');
    expect(h.fakes[0]!.stats.requests).toBe(1);
    expect(await metric(h.url, 'gateway_circuit_breaker_state', { deployment: 'a' })).toBe(0);
  });

  it('F-04: every deployment answers 429 without Retry-After → our 429 carries Retry-After and retry-after-ms from the cooldown', async () => {
    const h = await fleet(2, { retry: { maxAttempts: 2, defaultCooldownMs: 3_000 } });
    const [a, b] = h.fakes;
    a!.enqueue({ kind: 'status', status: 429 });
    b!.enqueue({ kind: 'status', status: 429 });
    const res = await chat(h.url, chatBody('m'));
    expect(res.status).toBe(429);
    expectOpenAiError(res.json(), 'upstream_rate_limited', 'rate_limit_error');
    expect(requests([a!, b!])).toEqual([1, 1]);
    // The earliest cooldown (a's, set first) has a little under 3 s left.
    expect(res.headers['retry-after']).toBe('3');
    const ms = Number(res.headers['retry-after-ms']);
    expect(ms).toBeGreaterThan(2_000);
    expect(ms).toBeLessThanOrEqual(3_000);
  });

  it('F-04: a 429 with only OpenAI quota headers → Retry-After from the exhausted limit\'s reset; the provider\'s quota headers are not passed on', async () => {
    const h = await fleet(1, { retry: { maxAttempts: 1 } });
    h.fakes[0]!.enqueue({
      kind: 'status',
      status: 429,
      headers: {
        'x-ratelimit-limit-requests': '10000',
        'x-ratelimit-remaining-requests': '0',
        'x-ratelimit-reset-requests': '7s',
        'x-ratelimit-limit-tokens': '2000000',
        'x-ratelimit-remaining-tokens': '1999000',
        'x-ratelimit-reset-tokens': '6m0s',
      },
    });
    const res = await chat(h.url, chatBody('m'));
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toBe('7');
    expect(Number(res.headers['retry-after-ms'])).toBeGreaterThan(6_000);
    expect(Number(res.headers['retry-after-ms'])).toBeLessThanOrEqual(7_000);
    // The gateway's organisation-wide quota is not the tenant's (who has no limits here).
    for (const name of Object.keys(res.headers)) expect(name).not.toMatch(/^x-ratelimit-/);
  });

  it('F-04: 429 with Retry-After: 120 and a second deployment → fails over to it; the first stays in cooldown', async () => {
    const h = await fleet(2);
    const [a, b] = h.fakes;
    a!.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '120' } });
    const t0 = performance.now();
    const res = await chat(h.url, chatBody('m'));
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('b');
    expect(res.headers['x-gateway-attempts']).toBe('2');
    // The cooling deployment is skipped by later requests, whatever the balancer's turn.
    for (let i = 0; i < 2; i++) {
      const next = await chat(h.url, chatBody('m'));
      expect(next.headers['x-gateway-provider']).toBe('b');
      expect(next.headers['x-gateway-attempts']).toBe('1');
    }
    expect(requests([a!, b!])).toEqual([1, 3]);
    expect(await metric(h.url, 'gateway_deployment_cooldowns_total', { deployment: 'a' })).toBe(1);
  });
});

describe('F-06: upstream client errors', () => {
  it('400, 404 and 422 keep their status, are never retried and leave the breaker closed', async () => {
    const h = await fleet(2);
    const [a, b] = h.fakes;
    let expected = 0;
    for (const status of [400, 404, 422, 400]) {
      // Round robin alternates; queue the fault on whichever deployment is next.
      const fake = expected % 2 === 0 ? a! : b!;
      fake.enqueue({ kind: 'status', status, body: { error: { message: `scripted ${status}`, type: 'invalid_request_error', param: 'messages', code: 'bad_thing' } } });
      const res = await chat(h.url, chatBody('m'));
      expected += 1;
      expect(res.status).toBe(status);
      expect(res.headers['x-should-retry']).toBe('false');
      expect(res.headers['x-gateway-attempts']).toBe('1');
      const body = res.json() as ErrorBody;
      expect(body.error).toMatchObject({ message: `scripted ${status}`, param: 'messages', code: 'bad_thing' });
      expect(a!.stats.requests + b!.stats.requests).toBe(expected);
    }
    const text = await scrapeMetrics(h.url);
    expect(metricValue(text, 'gateway_retries_total')).toBe(0);
    expect(metricValue(text, 'gateway_circuit_breaker_transitions_total')).toBe(0);
    expect(metricValue(text, 'gateway_upstream_attempts_total', { outcome: 'client_error' })).toBe(4);
  });

  it('401/403 from the upstream → 502 that never contains the provider key, not retried', async () => {
    const providerKey = 'sk-provider-secret-7f3a9c1e5b';
    const h = await start({
      fakes: [{ dialect: 'openai' }],
      env: { PROVIDER_KEY: providerKey },
      config: ([a]) => ({
        deployments: { a: deploymentFor(a!, { apiKey: '${env:PROVIDER_KEY}' }) },
        models: { m: { targets: [{ deployment: 'a', model: 'x' }] } },
      }),
    });
    const fake = h.fakes[0]!;
    for (const [i, status] of [401, 403].entries()) {
      fake.enqueue({ kind: 'status', status, body: { error: { message: `Incorrect API key provided: ${providerKey}`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } });
      const res = await chat(h.url, chatBody('m'));
      expect(res.status).toBe(502);
      expectOpenAiError(res.json(), 'upstream_error', 'server_error');
      expect(res.text).not.toContain(providerKey);
      expect(res.text).not.toContain('sk-provider');
      expect(fake.stats.requests).toBe(i + 1);
    }
    // The fake really got the key, so the check above could have failed.
    expect(fake.received[0]!.headers.authorization).toBe(`Bearer ${providerKey}`);
  });
});

describe('F-07..F-09: connect failures, resets, first-byte timeouts', () => {
  it('F-07: connection refused on the only deployment → 502 after retries', async () => {
    const port = await closedPort();
    const h = await start({
      config: () => ({
        deployments: { dead: { provider: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` } },
        models: { m: { targets: [{ deployment: 'dead', model: 'x' }] } },
      }),
    });
    const res = await chat(h.url, chatBody('m'));
    expect(res.status).toBe(502);
    expect(res.headers['x-gateway-attempts']).toBe('3');
    expect(expectOpenAiError(res.json(), 'upstream_error', 'server_error').error.message).toContain("Could not connect to deployment 'dead'");
    expect(await metric(h.url, 'gateway_upstream_attempts_total', { deployment: 'dead', outcome: 'connect_error' })).toBe(3);
  });

  it('F-07: connection refused with a healthy second deployment → 200 from it', async () => {
    const port = await closedPort();
    const h = await start({
      fakes: [{ dialect: 'openai' }],
      config: ([b]) => ({
        deployments: { dead: { provider: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` }, b: deploymentFor(b!) },
        models: { m: { targets: [{ deployment: 'dead', model: 'x' }, { deployment: 'b', model: 'x' }] } },
      }),
    });
    const res = await chat(h.url, chatBody('m'));
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('b');
    expect(res.headers['x-gateway-attempts']).toBe('2');
    expect(await metric(h.url, 'gateway_upstream_attempts_total', { deployment: 'dead', outcome: 'connect_error' })).toBe(1);
  });

  it('F-08: TCP reset before response headers → retried, client gets 200', async () => {
    const h = await fleet(1);
    h.fakes[0]!.enqueue({ kind: 'reset-before-headers' });
    const res = await chat(h.url, chatBody('m'));
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-attempts']).toBe('2');
    expect(h.fakes[0]!.stats.requests).toBe(2);
    expect(await metric(h.url, 'gateway_upstream_attempts_total', { deployment: 'a', outcome: 'reset' })).toBe(1);
  });

  it('F-09: upstream never sends headers → first-byte timeout, 504 upstream_timeout, upstream aborted', async () => {
    const h = await fleet(1, { retry: { maxAttempts: 1 }, timeouts: { firstByteMs: 300 } });
    const fake = h.fakes[0]!;
    fake.enqueue({ kind: 'hang' });
    const t0 = performance.now();
    const res = await chat(h.url, chatBody('m'));
    const elapsed = performance.now() - t0;
    expect(res.status).toBe(504);
    expectOpenAiError(res.json(), 'upstream_timeout', 'timeout_error');
    expect(elapsed).toBeGreaterThanOrEqual(280);
    expect(elapsed).toBeLessThan(2_000);
    await fake.waitForAborts(1, 1_000);
    expect(await metric(h.url, 'gateway_requests_total', { outcome: 'timeout', status_class: '5xx' })).toBe(1);
  });

  it('the request deadline (timeouts.totalMs) ends a hanging request with 504 upstream_timeout, not as a client disconnect', async () => {
    const h = await fleet(1, { retry: { maxAttempts: 1 }, timeouts: { totalMs: 300, firstByteMs: 10_000 } });
    const fake = h.fakes[0]!;
    fake.enqueue({ kind: 'hang' });
    const res = await chat(h.url, chatBody('m'));
    expect(res.status).toBe(504);
    expectOpenAiError(res.json(), 'upstream_timeout', 'timeout_error');
    expect(res.json().error.message).toContain('300 ms deadline');
    await fake.waitForAborts(1, 1_000);
    expect(await metric(h.url, 'gateway_requests_total', { outcome: 'timeout', status_class: '5xx' })).toBe(1);
    expect(await metric(h.url, 'gateway_requests_total', { outcome: 'client_disconnect' })).toBe(0);
  });

  it('F-09: a hang followed by a healthy answer → retried after the timeout, 200', async () => {
    const h = await fleet(1, { timeouts: { firstByteMs: 300 } });
    const fake = h.fakes[0]!;
    fake.enqueue({ kind: 'hang' });
    const res = await chat(h.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    expect(res.events().at(-1)).toBe('[DONE]');
    expect(res.headers['x-gateway-attempts']).toBe('2');
    await fake.waitForAborts(1, 1_000);
    expect(fake.stats.requests).toBe(2);
  });
});

describe('F-11..F-14: failures inside streams', () => {
  it('F-10: a slow stream whose gaps stay under idleMs completes, even though it lasts longer than idleMs', async () => {
    const h = await fleet(1, { timeouts: { idleMs: 400 } });
    h.fakes[0]!.setBehaviour({ chunks: 8, chunkIntervalMs: 100 });
    const t0 = performance.now();
    const res = await chat(h.url, chatBody('m', { stream: true }));
    expect(performance.now() - t0).toBeGreaterThan(800);
    const { chunks, errors, done } = splitStream(res.events());
    expect(errors).toHaveLength(0);
    expect(done).toBe(true);
    expect(chunks).toHaveLength(10); // role + 8 pieces + finish
    expect(h.fakes[0]!.stats.aborted).toBe(0);
  });

  it('F-11: stall after 2 chunks → the 2 chunks, then exactly one error event, no [DONE]; upstream aborted', async () => {
    const h = await fleet(1, { timeouts: { idleMs: 300 } });
    const fake = h.fakes[0]!;
    fake.enqueue({ kind: 'stall', afterChunks: 2 });
    const res = await chat(h.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    const { chunks, errors, done } = splitStream(res.events());
    expect(chunks).toHaveLength(2);
    expect(errors).toHaveLength(1);
    expect(res.events().at(-1)).toContain('"error"');
    expect(done).toBe(false);
    expectOpenAiError(errors[0], 'upstream_timeout', 'timeout_error');
    await fake.waitForAborts(1, 1_000);
    expect(await metric(h.url, 'gateway_requests_total', { model: 'm', outcome: 'timeout' })).toBe(1);
  });

  it('F-12: reset after k chunks → k chunks, then exactly one error event, no [DONE]', async () => {
    const h = await fleet(1);
    const k = 3;
    h.fakes[0]!.enqueue({ kind: 'reset-mid-stream', afterChunks: k });
    const res = await chat(h.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    const { chunks, errors, done } = splitStream(res.events());
    expect(chunks).toHaveLength(k);
    expect(errors).toHaveLength(1);
    expect(done).toBe(false);
    expect(res.events().at(-1)).toContain('"error"');
    expectOpenAiError(errors[0], 'upstream_error', 'server_error');
    expect(h.fakes[0]!.stats.requests).toBe(1);
    expect(await metric(h.url, 'gateway_requests_total', { model: 'm', outcome: 'upstream_error' })).toBe(1);
  });

  it('F-12: the official openai client raises APIError for a mid-stream drop; the gateway keeps serving', async () => {
    const h = await fleet(1);
    h.fakes[0]!.enqueue({ kind: 'reset-mid-stream', afterChunks: 2 });
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream: true });
    let received = 0;
    const consume = async (): Promise<void> => {
      for await (const _chunk of stream) received += 1;
    };
    await expect(consume()).rejects.toBeInstanceOf(APIError);
    expect(received).toBe(2);
    const after = await chat(h.url, chatBody('m'));
    expect(after.status).toBe(200);
  });

  it('F-13: an error event after 3 chunks is translated into our single error event', async () => {
    const h = await fleet(1);
    // Spaced chunks, so the first content chunk (the second, after the role chunk) commits the
    // stream before the error arrives (an error in the same read as the first content chunk is
    // still pre-commit and is retried instead).
    h.fakes[0]!.setBehaviour({ chunkIntervalMs: 50 });
    h.fakes[0]!.enqueue({ kind: 'error-event', afterChunks: 3 });
    const res = await chat(h.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    const { chunks, errors, done } = splitStream(res.events());
    expect(chunks).toHaveLength(3);
    expect(errors).toHaveLength(1);
    expect(done).toBe(false);
    const err = expectOpenAiError(errors[0], 'upstream_error', 'server_error');
    expect(err.error.message).toContain('mid-stream');
  });

  it('F-13/F-14: an error-only stream (error before any chunk) fails over before commit → clean 200 stream', async () => {
    const h = await fleet(2);
    const [a, b] = h.fakes;
    a!.enqueue({ kind: 'error-event', afterChunks: 0 });
    const res = await chat(h.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('b');
    expect(res.headers['x-gateway-attempts']).toBe('2');
    const { chunks, errors, done } = splitStream(res.events());
    expect(errors).toHaveLength(0);
    expect(done).toBe(true);
    expect(res.events().at(-1)).toBe('[DONE]');
    expect(chunks.length).toBeGreaterThan(0);
    expect(requests([a!, b!])).toEqual([1, 1]);
  });

  it('F-14: error-only streams on every attempt → a real 502 status, not a 200 stream', async () => {
    const h = await fleet(1);
    h.fakes[0]!.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'error-event' as const, afterChunks: 0 })));
    const res = await chat(h.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(502);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expectOpenAiError(res.json(), 'upstream_error', 'server_error');
    expect(h.fakes[0]!.stats.requests).toBe(3);
  });
});

describe('F-15..F-18: breakers and fallbacks', () => {
  it('F-15: 3 consecutive 5xx open the breaker; after openMs exactly one probe goes through and closes it', async () => {
    const h = await fleet(1, { retry: { maxAttempts: 1 }, circuitBreaker: { failureThreshold: 3, openMs: 200, jitterRatio: 0, halfOpenProbes: 1 } });
    const fake = h.fakes[0]!;
    fake.setBehaviour({ failureRate: 1 });
    for (let i = 0; i < 3; i++) expect((await chat(h.url, chatBody('m'))).status).toBe(502);
    expect(await metric(h.url, 'gateway_circuit_breaker_state', { deployment: 'a' })).toBe(1);

    const t0 = performance.now();
    const rejected = await chat(h.url, chatBody('m'));
    expect(performance.now() - t0).toBeLessThan(500);
    expect(rejected.status).toBe(503);
    expectOpenAiError(rejected.json(), 'no_available_deployment', 'server_error');
    expect(Number(rejected.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(fake.stats.requests).toBe(3);

    // Wait out the open period (the scenario itself is time-based; jitter is 0).
    await new Promise((resolve) => setTimeout(resolve, 260));
    fake.setBehaviour({ failureRate: 0 });
    fake.enqueue({ kind: 'delay', ms: 1_000 }); // keeps the probe in flight while the others arrive
    const burst = await Promise.all(Array.from({ length: 5 }, () => chat(h.url, chatBody('m'))));
    const statuses = burst.map((r) => r.status).sort();
    expect(statuses).toEqual([200, 503, 503, 503, 503]);
    expect(fake.stats.requests).toBe(4);

    const text = await scrapeMetrics(h.url);
    expect(metricValue(text, 'gateway_circuit_breaker_state', { deployment: 'a' })).toBe(0);
    expect(metricValue(text, 'gateway_circuit_breaker_transitions_total', { deployment: 'a', from: 'open', to: 'half_open' })).toBe(1);
    expect(metricValue(text, 'gateway_circuit_breaker_transitions_total', { deployment: 'a', from: 'half_open', to: 'closed' })).toBe(1);
    expect((await chat(h.url, chatBody('m'))).status).toBe(200);
  });

  it('F-15: with a healthy second deployment, the open one is skipped', async () => {
    const h = await fleet(2, { retry: { maxAttempts: 1 }, circuitBreaker: { failureThreshold: 2 } });
    const [a, b] = h.fakes;
    a!.setBehaviour({ failureRate: 1 });
    // Round robin: requests 1 and 3 go to a and fail; the breaker then opens.
    for (let i = 0; i < 4; i++) await chat(h.url, chatBody('m'));
    expect(a!.stats.requests).toBe(2);
    expect(await metric(h.url, 'gateway_circuit_breaker_state', { deployment: 'a' })).toBe(1);
    for (let i = 0; i < 4; i++) {
      const res = await chat(h.url, chatBody('m'));
      expect(res.status).toBe(200);
      expect(res.headers['x-gateway-provider']).toBe('b');
    }
    expect(requests([a!, b!])).toEqual([2, 6]);
  });

  it('F-17: every deployment open → fast 503 no_available_deployment with Retry-After', async () => {
    const h = await fleet(2, { circuitBreaker: { failureThreshold: 1, openMs: 30_000 } });
    for (const f of h.fakes) f.setBehaviour({ failureRate: 1 });
    expect((await chat(h.url, chatBody('m'))).status).toBe(502);
    expect(requests(h.fakes)).toEqual([1, 1]);

    const t0 = performance.now();
    const res = await chat(h.url, chatBody('m'));
    expect(performance.now() - t0).toBeLessThan(500);
    expect(res.status).toBe(503);
    expect(res.headers['x-should-retry']).toBe('false');
    const retryAfter = Number(res.headers['retry-after']);
    expect(retryAfter).toBeGreaterThanOrEqual(1);
    expect(retryAfter).toBeLessThanOrEqual(30);
    expect(Number(res.headers['retry-after-ms'])).toBeGreaterThan(0);
    expectOpenAiError(res.json(), 'no_available_deployment', 'server_error');
    expect(requests(h.fakes)).toEqual([1, 1]);
    expect(await metric(h.url, 'gateway_requests_total', { outcome: 'no_available_target', status_class: '5xx' })).toBe(1);
  });

  it('F-18: alias A fails on every attempt, falls back to B → B answers, and headers, body and metrics say so', async () => {
    const h = await start({
      fakes: [{ dialect: 'openai', name: 'fa' }, { dialect: 'openai', name: 'fb' }],
      config: ([fa, fb]) => ({
        deployments: { da: deploymentFor(fa!), db: deploymentFor(fb!) },
        models: {
          A: { targets: [{ deployment: 'da', model: 'x' }], fallbacks: ['B'] },
          B: { targets: [{ deployment: 'db', model: 'y' }] },
        },
      }),
    });
    const [fa, fb] = h.fakes;
    fa!.setBehaviour({ failureRate: 1 });
    const res = await chat(h.url, chatBody('A'));
    expect(res.status).toBe(200);
    expect(res.json().model).toBe('B');
    expect(res.headers['x-gateway-model']).toBe('B');
    expect(res.headers['x-gateway-provider']).toBe('db');
    expect(res.headers['x-gateway-attempts']).toBe('4');
    expect(requests([fa!, fb!])).toEqual([3, 1]);
    expect((fb!.received[0]!.body as Json)['model']).toBe('y');
    const text = await scrapeMetrics(h.url);
    expect(metricValue(text, 'gateway_fallbacks_total', { from: 'A', to: 'B' })).toBe(1);
    expect(metricValue(text, 'gateway_tokens_total', { model: 'B' })).toBeGreaterThan(0);
    expect(metricValue(text, 'gateway_tokens_total', { model: 'A' })).toBe(0);
    expect(metricValue(text, 'gateway_requests_total', { model: 'A', outcome: 'success' })).toBe(1);
  });
});

describe('F-20/F-21: client disconnects propagate upstream', () => {
  const disconnects = (url: string): Promise<number> => metric(url, 'gateway_requests_total', { outcome: 'client_disconnect' });

  function send(url: string, body: unknown, signal: AbortSignal): Promise<unknown> {
    return request(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify(body),
      signal,
      ...dispatcherOption(url),
    }).then(
      (res) => res.body.text(),
      (err: unknown) => err,
    );
  }

  it('F-20: disconnect while waiting for upstream headers → upstream aborted, no further attempt', async () => {
    const h = await fleet(1);
    const fake = h.fakes[0]!;
    fake.enqueue({ kind: 'hang' });
    const controller = new AbortController();
    const pending = send(h.url, chatBody('m', { stream: true }), controller.signal);
    await vi.waitFor(() => expect(fake.stats.requests).toBe(1), { timeout: 2_000, interval: 10 });
    controller.abort();
    await pending;
    await fake.waitForAborts(1, 1_000);
    await vi.waitFor(async () => expect(await disconnects(h.url)).toBe(1), { timeout: 2_000, interval: 20 });
    expect(fake.stats.requests).toBe(1);
    expect(await metric(h.url, 'gateway_retries_total')).toBe(0);
  });

  it('F-20: disconnect mid-stream after the first chunk → upstream aborted', async () => {
    const h = await fleet(1);
    const fake = h.fakes[0]!;
    fake.setBehaviour({ chunkIntervalMs: 100, chunks: 50 });
    const controller = new AbortController();
    const res = await request(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify(chatBody('m', { stream: true })),
      signal: controller.signal,
      dispatcher: h.client,
    });
    expect(res.statusCode).toBe(200);
    let firstChunk = '';
    try {
      for await (const piece of res.body) {
        firstChunk += String(piece);
        if (firstChunk.includes('data: ')) {
          controller.abort();
          break;
        }
      }
    } catch {
      // the abort ends the iteration
    }
    expect(firstChunk).toContain('chat.completion.chunk');
    await fake.waitForAborts(1, 1_000);
    expect(fake.stats.completed).toBe(0);
    await vi.waitFor(async () => expect(await disconnects(h.url)).toBe(1), { timeout: 2_000, interval: 20 });
  });

  it('F-20: disconnect during the backoff sleep → the sleep ends at once and no second attempt is made', async () => {
    const backoffMs = 3_000;
    // random() = 0.9 puts the full-jitter backoff at 2.7 s.
    const h = await fleet(1, { retry: { baseDelayMs: backoffMs, maxDelayMs: backoffMs } }, { random: () => 0.9 });
    const fake = h.fakes[0]!;
    fake.enqueue({ kind: 'status', status: 500 });
    const controller = new AbortController();
    const pending = send(h.url, chatBody('m'), controller.signal);
    // The retry event is emitted just before the backoff sleep starts.
    await vi.waitFor(async () => expect(await metric(h.url, 'gateway_retries_total')).toBe(1), { timeout: 2_000, interval: 20 });
    const t0 = performance.now();
    controller.abort();
    await pending;
    await vi.waitFor(async () => expect(await disconnects(h.url)).toBe(1), { timeout: 2_000, interval: 20 });
    // Recorded well before the backoff would have ended: the sleep was interrupted.
    expect(performance.now() - t0).toBeLessThan(backoffMs * 0.9 - 500);
    expect(fake.stats.requests).toBe(1);
  });

  it('F-21: non-stream request, client disconnects while the upstream delays → upstream aborted', async () => {
    const h = await fleet(1);
    const fake = h.fakes[0]!;
    fake.enqueue({ kind: 'delay', ms: 5_000 });
    const controller = new AbortController();
    const pending = send(h.url, chatBody('m'), controller.signal);
    await vi.waitFor(() => expect(fake.stats.requests).toBe(1), { timeout: 2_000, interval: 10 });
    controller.abort();
    await pending;
    await fake.waitForAborts(1, 1_000);
    await vi.waitFor(async () => expect(await disconnects(h.url)).toBe(1), { timeout: 2_000, interval: 20 });
    expect(fake.stats.requests).toBe(1);
  });
});
