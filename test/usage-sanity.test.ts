/**
 * Issue 9 §6: upstream usage is not trusted as-is, and every wait we tell a client is a small
 * valid integer. A fake that reports `prompt_tokens: 1e300` once put the tenant in debt for
 * ever (`Retry-After: 1e+299`); a negative count refunded tokens nobody paid for.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { maxClientWaitMs } from '../src/resilience/retry-after.js';
import { chat, chatBody, deploymentFor, KEY, metric, startHarness, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function gateway(tokens: { capacity: number; refillPerSecond: number }): Promise<Harness> {
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    config: (fakes) => ({
      deployments: { fake: deploymentFor(fakes[0] as FakeUpstream) },
      models: { m: { targets: [{ deployment: 'fake', model: 'up' }] } },
      tenants: { main: { keys: [KEY], models: ['*'], limits: { tokens } } },
    }),
  });
  return h;
}

function completionWithUsage(usage: Record<string, unknown>): string {
  const body = { id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'up', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage };
  // JSON.stringify writes 1e300 as 1e+300, which is valid JSON, as a hostile upstream would send it.
  return JSON.stringify(body);
}

function streamWithUsage(usage: Record<string, unknown>): string {
  const chunk = (extra: Record<string, unknown>): string => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'up', ...extra })}\n\n`;
  return chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: null }] }) + chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }) + chunk({ choices: [], usage }) + 'data: [DONE]\n\n';
}

function expectValidWait(headers: Record<string, string>): void {
  expect(headers['retry-after']).toMatch(/^\d+$/);
  expect(Number(headers['retry-after'])).toBeLessThanOrEqual(maxClientWaitMs / 1000);
  expect(headers['retry-after-ms']).toMatch(/^\d+$/);
  expect(headers['x-ratelimit-reset-tokens']).toMatch(/^(\d+h)?(\d+m)?[\d.]+m?s$/);
}

describe('upstream usage is checked before it is charged', () => {
  it.each([
    { name: 'prompt_tokens: 1e300', usage: { prompt_tokens: 1e300, completion_tokens: 1, total_tokens: 1e300 } },
    { name: 'completion_tokens: 2e7 (over the per-request cap)', usage: { prompt_tokens: 5, completion_tokens: 20_000_000, total_tokens: 20_000_005 } },
    { name: 'negative prompt_tokens', usage: { prompt_tokens: -1_000_000, completion_tokens: 1, total_tokens: -999_999 } },
    { name: 'fractional completion_tokens', usage: { prompt_tokens: 5, completion_tokens: 0.5, total_tokens: 5.5 } },
  ])('$name is replaced by the reservation and counted as estimated; the tenant is not put in debt', async ({ usage }) => {
    const capacity = 1_000;
    const g = await gateway({ capacity, refillPerSecond: 0.001 });
    const fake = g.fakes[0] as FakeUpstream;
    fake.enqueue({ kind: 'replay', body: completionWithUsage(usage), contentType: 'application/json' });
    const first = await chat(g.url, chatBody('m', { max_tokens: 50 }));
    expect(first.status).toBe(200);
    const reservedFirst = capacity - Number(first.headers['x-ratelimit-remaining-tokens']);

    const second = await chat(g.url, chatBody('m', { max_tokens: 50 }));
    expect(second.status).toBe(200);
    // The first request was charged exactly its reservation: neither debt nor a refund.
    expect(Number(second.headers['x-ratelimit-remaining-tokens'])).toBeGreaterThanOrEqual(capacity - 2 * reservedFirst - 1);
    expect(Number(second.headers['x-ratelimit-remaining-tokens'])).toBeLessThanOrEqual(capacity - 2 * reservedFirst + 1);
    expect(await metric(g.url, 'gateway_usage_estimated_total')).toBeGreaterThanOrEqual(1);
  });

  it('the same in a stream: 1e300 in the usage chunk does not reach the bucket', async () => {
    const capacity = 1_000;
    const g = await gateway({ capacity, refillPerSecond: 0.001 });
    const fake = g.fakes[0] as FakeUpstream;
    fake.enqueue({ kind: 'replay', body: streamWithUsage({ prompt_tokens: 1e300, completion_tokens: 1, total_tokens: 1e300 }), contentType: 'text/event-stream' });
    const first = await chat(g.url, chatBody('m', { max_tokens: 50, stream: true, stream_options: { include_usage: true } }));
    expect(first.status).toBe(200);
    const reservedFirst = capacity - Number(first.headers['x-ratelimit-remaining-tokens']);
    const second = await chat(g.url, chatBody('m', { max_tokens: 50 }));
    expect(second.status).toBe(200);
    // The stream was charged exactly its reservation: neither debt nor a refund.
    expect(Number(second.headers['x-ratelimit-remaining-tokens'])).toBeGreaterThanOrEqual(capacity - 2 * reservedFirst - 1);
    expect(Number(second.headers['x-ratelimit-remaining-tokens'])).toBeLessThanOrEqual(capacity - 2 * reservedFirst + 1);
    expect(await metric(g.url, 'gateway_usage_estimated_total')).toBeGreaterThanOrEqual(1);
  });

  it('a 429 from a bucket deep in debt carries Retry-After as a small integer (at most the documented cap)', async () => {
    // 950 real tokens out of 1,000 refilling at 0.0001/s: the next ~900 need ~8 million s.
    const g = await gateway({ capacity: 1_000, refillPerSecond: 0.0001 });
    (g.fakes[0] as FakeUpstream).enqueue({ kind: 'replay', body: completionWithUsage({ prompt_tokens: 900, completion_tokens: 50, total_tokens: 950 }), contentType: 'application/json' });
    const first = await chat(g.url, chatBody('m', { max_tokens: 50 }));
    expect(first.status).toBe(200);
    const second = await chat(g.url, chatBody('m', { max_tokens: 880 }));
    expect(second.status).toBe(429);
    expectValidWait(second.headers);
    expect(Number(second.headers['retry-after'])).toBe(maxClientWaitMs / 1000);
  });
});
