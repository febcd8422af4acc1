/**
 * Issue 9 §6 (F-05 with hostile values): a provider 429 with `Retry-After: 99999999` disabled
 * its deployment for three years, and as a Redis TTL the cooldown outlived restarts. Every
 * source of a provider wait (Retry-After in seconds or as an HTTP-date, x-ratelimit-reset-*,
 * Gemini's RetryInfo) now starts a cooldown of at most `retry.maxCooldownMs`, in memory and in
 * Redis, and the client's Retry-After says so.
 */
import { Redis } from 'ioredis';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { geminiError } from '../src/testing/fake-upstream/gemini-dialect.js';
import type { FakeDialectName } from '../src/testing/fake-upstream/script.js';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, startHarness, type Harness } from './helpers/harness.js';
import { adminClient, SHARED_REDIS_URL, sharedRedisAvailable, uniquePrefix } from './helpers/redis.js';

type Json = Record<string, unknown>;
const harnesses: Harness[] = [];
afterEach(async () => {
  for (const h of harnesses.splice(0)) await h.close();
});

const redisAvailable = await sharedRedisAvailable();
const admin: Redis | undefined = redisAvailable ? adminClient() : undefined;
afterAll(() => admin?.disconnect());

async function gateway(dialect: FakeDialectName, extra: Json = {}): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect }],
    config: (fakes) => ({
      deployments: { hot: deploymentFor(fakes[0] as FakeUpstream) },
      models: { m: { targets: [{ deployment: 'hot', model: 'up' }] } },
      ...extra,
    }),
  });
  harnesses.push(h);
  return h;
}

const farFuture = 'Fri, 01 Jan 2100 00:00:00 GMT';
const cases: Array<{ name: string; dialect: FakeDialectName; body?: unknown; headers?: Record<string, string> }> = [
  { name: 'Retry-After: 99999999', dialect: 'openai', headers: { 'retry-after': '99999999' } },
  { name: 'Retry-After as an HTTP-date in 2100', dialect: 'openai', headers: { 'retry-after': farFuture } },
  { name: 'retry-after-ms: 1e15', dialect: 'openai', headers: { 'retry-after-ms': '1000000000000000' } },
  { name: 'x-ratelimit-reset-requests: 99999h with none remaining', dialect: 'openai', headers: { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '99999h' } },
  { name: 'Gemini RetryInfo retryDelay 99999999s', dialect: 'gemini', body: geminiError(429, 'quota', '99999999s') },
];

describe('provider cooldowns are capped (retry.maxCooldownMs)', () => {
  it.each(cases)('$name: the client is told at most the default cap of 300 s', async ({ dialect, body, headers }) => {
    const h = await gateway(dialect);
    (h.fakes[0] as FakeUpstream).enqueue({ kind: 'status', status: 429, ...(body === undefined ? {} : { body }), ...(headers === undefined ? {} : { headers }) });
    const res = await chat(h.url, chatBody('m'));
    expect(res.status).toBe(429);
    expect(res.headers['retry-after']).toMatch(/^\d+$/);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(300);
    expect(Number(res.headers['retry-after-ms'])).toBeLessThanOrEqual(300_000);
  });

  it('Retry-After: 99999999 cools the deployment only for maxCooldownMs; then it serves again', async () => {
    const h = await gateway('openai', { retry: { maxCooldownMs: 1_000 } });
    const fake = h.fakes[0] as FakeUpstream;
    fake.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '99999999' } });
    // The capped cooldown (1 s) fits the request's deadline, so the gateway waits it out and the
    // same request is served by the same deployment on its second attempt.
    const res = await chat(h.url, chatBody('m'));
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-attempts']).toBe('2');
    expect(fake.stats.requests).toBe(2);
  });

  it.skipIf(!redisAvailable)('on Redis the cooldown key TTL is capped too, so it cannot outlive a restart for years', async () => {
    const prefix = uniquePrefix('cdcap');
    const h = await gateway('openai', { state: { backend: 'redis', redis: { url: SHARED_REDIS_URL, keyPrefix: prefix } } });
    (h.fakes[0] as FakeUpstream).enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '99999999' } });
    expect((await chat(h.url, chatBody('m'))).status).toBe(429);
    const key = `${prefix}cd:{hot}`;
    let ttl = -2;
    // The SET is fire-and-forget after the reply: poll for it, with a deadline.
    for (let i = 0; i < 100 && ttl < 0; i++) {
      ttl = (await admin?.pttl(key)) ?? -2;
      if (ttl < 0) await new Promise((r) => setTimeout(r, 20));
    }
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(300_000);
    await admin?.del(key);
  });

  it.skipIf(!redisAvailable)('a cooldown key left in Redis with a years-long TTL is cut to the cap when a replica starts', async () => {
    const prefix = uniquePrefix('cdold');
    const key = `${prefix}cd:{hot}`;
    await admin?.set(key, '1', 'PX', 99_999_999_000);
    const h = await gateway('openai', { state: { backend: 'redis', redis: { url: SHARED_REDIS_URL, keyPrefix: prefix } } });
    let ttl = Infinity;
    for (let i = 0; i < 100 && ttl > 300_000; i++) {
      ttl = (await admin?.pttl(key)) ?? -2;
      if (ttl > 300_000) await new Promise((r) => setTimeout(r, 20));
    }
    expect(ttl).toBeLessThanOrEqual(300_000);
    const res = await chat(h.url, chatBody('m'));
    expect(res.status).toBe(503);
    expect(Number(res.headers['retry-after'])).toBeLessThanOrEqual(300);
    await admin?.del(key);
  });
});
