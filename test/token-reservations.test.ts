/**
 * L-06, the reservation side (issue 9 §6): a request reserves at least what it can really cost,
 * or is refused with 400 when its reservation can never fit the tenant's token limit. Each case
 * is an attack that reserved almost nothing before: 1.5M token ids as the prompt, 2048 prompts
 * × n=8 × max_tokens 500, 7.5 MB of tool schemas. The reservation is read from
 * `x-ratelimit-remaining-tokens` (capacity − reserved, refill negligible) on the admitted reply.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { countTokens } from '../src/api/token-count.js';
import { requestCaps } from '../src/api/parse-common.js';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, deploymentFor, KEY, startHarness, type Harness } from './helpers/harness.js';

type Json = Record<string, unknown>;
let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function gatewayWithTokenLimit(capacity: number): Promise<Harness> {
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    config: (fakes) => ({
      server: { host: '127.0.0.1', port: 0, bodyLimitBytes: 16 * 1024 * 1024 },
      deployments: { fake: deploymentFor(fakes[0] as FakeUpstream) },
      models: { m: { targets: [{ deployment: 'fake', model: 'up' }] } },
      tenants: { main: { keys: [KEY], models: ['*'], limits: { tokens: { capacity, refillPerSecond: 0.001 } } } },
    }),
  });
  return h;
}

/** Tokens the admitted request reserved: capacity − what the bucket reported after admission. */
function reserved(capacity: number, headers: Record<string, string>): number {
  const remaining = Number(headers['x-ratelimit-remaining-tokens']);
  expect(Number.isFinite(remaining)).toBe(true);
  return capacity - remaining;
}

const ids = (n: number): number[] => Array.from({ length: n }, (_, i) => i % 50_000);

/** A realistic function tool (≈ 360 bytes of JSON schema). */
const tool = (i: number): Json => ({
  type: 'function',
  function: {
    name: `get_weather_${i}`,
    description: 'Get the current weather in a given location, in the unit the user prefers.',
    parameters: { type: 'object', properties: { location: { type: 'string', description: 'The city and state, e.g. San Francisco, CA' }, unit: { type: 'string', enum: ['celsius', 'fahrenheit'] } }, required: ['location'] },
  },
});

describe('L-06 reservations cover every prompt, choice and schema', () => {
  it('token-id prompts are reserved by count; 1.5M token ids are refused before validation', async () => {
    const capacity = 1_000_000;
    const g = await gatewayWithTokenLimit(capacity);
    const huge = await chat(g.url, { model: 'm', prompt: ids(1_500_000), max_tokens: 16 }, { path: '/v1/completions' });
    expect(huge.status).toBe(400);
    expect(huge.json().error.param).toBe('prompt');
    expect(g.fakes[0]?.stats.requests).toBe(0);

    const nested = await chat(g.url, { model: 'm', prompt: [ids(100_000), ids(100_000)], max_tokens: 16 }, { path: '/v1/completions' });
    expect(nested.status).toBe(200);
    // Real cost: 200,000 prompt tokens plus two prompts × 16 output tokens at most.
    expect(reserved(capacity, nested.headers)).toBeGreaterThanOrEqual(200_000 + 2 * 16);
  });

  it('more than the documented number of token-id prompts is a 400', async () => {
    const g = await gatewayWithTokenLimit(1_000_000);
    const res = await chat(g.url, { model: 'm', prompt: Array.from({ length: requestCaps.maxPrompts + 1 }, () => [1]) }, { path: '/v1/completions' });
    expect(res.status).toBe(400);
    expect(res.json().error.param).toBe('prompt');
  });

  it('2048 prompts × n=8 × max_tokens 500 reserve every choice of every prompt (400 when it can never fit)', async () => {
    const body = { model: 'm', prompt: Array.from({ length: 2048 }, (_, i) => `prompt ${i}`), n: 8, max_tokens: 500 };
    const worstOutput = 2048 * 8 * 500;
    const small = await gatewayWithTokenLimit(1_000_000);
    const refused = await chat(small.url, body, { path: '/v1/completions' });
    expect(refused.status).toBe(400);
    expect(refused.json().error.code).toBe('invalid_request');
    await small.close();

    const capacity = 10_000_000;
    const g = await gatewayWithTokenLimit(capacity);
    const res = await chat(g.url, body, { path: '/v1/completions' });
    expect(res.status).toBe(200);
    expect(reserved(capacity, res.headers)).toBeGreaterThanOrEqual(worstOutput + 2048);
  });

  it('best_of completions are reserved: every one is billed though n are returned', async () => {
    const capacity = 1_000_000;
    const g = await gatewayWithTokenLimit(capacity);
    const res = await chat(g.url, { model: 'm', prompt: 'hi', n: 1, best_of: 5, max_tokens: 100 }, { path: '/v1/completions' });
    expect(res.status).toBe(200);
    expect(reserved(capacity, res.headers)).toBeGreaterThanOrEqual(5 * 100);
  });

  it('7.5 MB of tools reserve at least their real token count (400 when they can never fit)', async () => {
    const tools = Array.from({ length: 21_000 }, (_, i) => tool(i));
    const json = JSON.stringify(tools);
    expect(json.length).toBeGreaterThan(7_500_000);
    // The real prompt cost of the schemas, counted with cl100k (extrapolated past 16K chars:
    // the tools repeat, so the first ones are representative).
    const realTools = countTokens(json);
    const body = { model: 'm', messages: [{ role: 'user', content: 'hi' }], tools, max_tokens: 10 };

    const small = await gatewayWithTokenLimit(1_000_000);
    const refused = await chat(small.url, body);
    expect(refused.status).toBe(400);
    await small.close();

    const capacity = 4_000_000;
    const g = await gatewayWithTokenLimit(capacity);
    const res = await chat(g.url, body);
    expect(res.status).toBe(200);
    expect(reserved(capacity, res.headers)).toBeGreaterThanOrEqual(realTools + 10);
  });

  it('embeddings token-id inputs are reserved by count', async () => {
    const capacity = 1_000_000;
    const g = await gatewayWithTokenLimit(capacity);
    const res = await chat(g.url, { model: 'm', input: [ids(30_000), ids(30_000)] }, { path: '/v1/embeddings' });
    expect(res.status).toBe(200);
    expect(reserved(capacity, res.headers)).toBeGreaterThanOrEqual(60_000);
  });
});
