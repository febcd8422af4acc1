/**
 * L-05 / R-07: distributed exactness across real gateway processes sharing one Redis.
 * Three (then, with one skewed clock, three again) `llm-gateway serve` processes, one fake
 * upstream in this process, 1,000 requests for one tenant and model with a request limit of
 * 100 and negligible refill, from 50 concurrent clients spread round-robin over the replicas.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { metric } from './helpers/harness.js';
import { SHARED_REDIS_URL, sharedRedisAvailable, uniquePrefix } from './helpers/redis.js';

const available = await sharedRedisAvailable();

const LIMIT = 100;
const TOTAL = 1_000;
const CLIENTS = 50;
const KEYS = { plain: 'sk-l05-plain-0123456789', skewed: 'sk-l05-skewed-0123456789' };

describe.skipIf(!available)('L-05 exact request limits across 3 gateway processes on one Redis', () => {
  let fake: FakeUpstream;
  let dir: string;
  const replicas: GatewayProcess[] = [];
  let skewed: GatewayProcess;

  beforeAll(async () => {
    fake = await FakeUpstream.start({ dialect: 'openai' });
    dir = mkdtempSync(join(tmpdir(), 'llm-gateway-l05-'));
    const config = join(dir, 'gateway.yaml');
    // Two tenants, one per scenario, each on its own model alias so metrics tell them apart.
    const bucket = { capacity: LIMIT, refillPerSecond: 0.001 };
    writeFileSync(
      config,
      JSON.stringify({
        logging: { level: 'warn', format: 'json' },
        state: { backend: 'redis', redis: { url: '${env:REDIS_URL}', keyPrefix: uniquePrefix('l05') }, expectedReplicas: 3 },
        deployments: { fake: { provider: 'openai', baseUrl: fake.baseUrl, maxConnections: 256 } },
        models: {
          'plain-model': { targets: [{ deployment: 'fake', model: 'up-plain' }] },
          'skewed-model': { targets: [{ deployment: 'fake', model: 'up-skewed' }] },
        },
        tenants: {
          plain: { keys: [KEYS.plain], models: ['plain-model'], limits: { requests: bucket } },
          skewed: { keys: [KEYS.skewed], models: ['skewed-model'], limits: { requests: bucket } },
        },
      }),
    );
    const env = { REDIS_URL: SHARED_REDIS_URL };
    const started = await Promise.all([
      startGatewayProcess(config, env),
      startGatewayProcess(config, env),
      startGatewayProcess(config, env),
      // Test-only: this replica's clock runs 30 s ahead (src/main.ts clockOptions).
      startGatewayProcess(config, { ...env, LLM_GATEWAY_TEST_CLOCK_OFFSET_MS: '30000' }),
    ]);
    replicas.push(...started.slice(0, 3));
    skewed = started[3] as GatewayProcess;
  }, 120_000);

  afterAll(async () => {
    await Promise.all([...replicas, skewed].filter(Boolean).map((r) => r.stop()));
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  async function run(urls: readonly string[], key: string, model: string): Promise<{ statuses: Map<number, number>; missingRetryAfter: number }> {
    const agents = urls.map(() => new Agent({ connections: CLIENTS }));
    const statuses = new Map<number, number>();
    let missingRetryAfter = 0;
    let next = 0;
    const body = JSON.stringify({ model, messages: [{ role: 'user', content: 'count me' }] });
    const client = async (): Promise<void> => {
      for (let i = next++; i < TOTAL; i = next++) {
        const r = i % urls.length;
        const res = await request(`${urls[r]}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
          body,
          dispatcher: agents[r] as Agent,
        });
        await res.body.text();
        statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
        // Retry-After must be there and no later than the next permit (1 per 1,000 s) + 1 s.
        const retryAfter = Number(res.headers['retry-after']);
        if (res.statusCode === 429 && !(retryAfter > 0 && retryAfter <= 1_001)) missingRetryAfter++;
      }
    };
    try {
      await Promise.all(Array.from({ length: CLIENTS }, client));
    } finally {
      await Promise.all(agents.map((a) => a.close()));
    }
    return { statuses, missingRetryAfter };
  }

  async function admittedAcross(urls: readonly string[], model: string): Promise<number> {
    const counts = await Promise.all(urls.map((u) => metric(u, 'gateway_ratelimit_decisions_total', { model, limit: 'requests', result: 'allowed' })));
    return counts.reduce((a, b) => a + b, 0);
  }

  function upstreamCount(upstreamModel: string): number {
    return fake.received.filter((r) => (r.body as { model?: string } | undefined)?.model === upstreamModel).length;
  }

  it('L-05: the fake receives exactly 100, 900 get 429 with Retry-After, admitted metrics sum to 100', async () => {
    const urls = replicas.map((r) => r.url);
    const { statuses, missingRetryAfter } = await run(urls, KEYS.plain, 'plain-model');
    expect(Object.fromEntries(statuses)).toEqual({ 200: LIMIT, 429: TOTAL - LIMIT });
    expect(missingRetryAfter).toBe(0);
    expect(upstreamCount('up-plain')).toBe(LIMIT);
    expect(await admittedAcross(urls, 'plain-model')).toBe(LIMIT);
    // Every replica took part (the clients were spread over all three).
    for (const u of urls) expect(await metric(u, 'gateway_ratelimit_decisions_total', { model: 'plain-model' })).toBeGreaterThan(0);
  }, 60_000);

  it('L-05 / R-07: the same with one replica’s clock 30 s ahead', async () => {
    const urls = [replicas[0]?.url ?? '', replicas[1]?.url ?? '', skewed.url];
    const { statuses, missingRetryAfter } = await run(urls, KEYS.skewed, 'skewed-model');
    expect(Object.fromEntries(statuses)).toEqual({ 200: LIMIT, 429: TOTAL - LIMIT });
    expect(missingRetryAfter).toBe(0);
    expect(upstreamCount('up-skewed')).toBe(LIMIT);
    expect(await admittedAcross(urls, 'skewed-model')).toBe(LIMIT);
    expect(await metric(skewed.url, 'gateway_ratelimit_decisions_total', { model: 'skewed-model' })).toBeGreaterThan(0);
  }, 60_000);
});
