/**
 * Budgets while Redis is down (docs/budgets.md, "When Redis is unavailable"): a gateway on a
 * redis-server of its own that the test kills. Fail-open admits on this replica's share of what
 * Redis last said was left; fail-closed refuses with 503 budget_unavailable and Retry-After;
 * requests of a team without budgets are not affected either way.
 */
import { existsSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, deploymentFor, metric, startHarness, type Harness } from './helpers/harness.js';
import { REDIS_SERVER_BIN, startRedisServer } from './helpers/redis.js';

const canRun = existsSync(REDIS_SERVER_BIN);
if (!canRun) {
  if (process.env.CI === 'true') throw new Error(`CI=true but ${REDIS_SERVER_BIN} is missing`);
  console.warn(`[redis budget outage tests] skipped: ${REDIS_SERVER_BIN} not found`);
}

const BUDGETED = 'sk-budgeted-0123456789';
const FREE = 'sk-free-team-0123456789';
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c().catch(() => undefined);
});

async function gateway(url: string, failureMode: 'open' | 'closed'): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect: 'openai', behaviour: { reply: 'ok done' } }],
    config: (fakes) => ({
      state: { backend: 'redis', redis: { url, keyPrefix: 'gw:', maxReconnectDelayMs: 100, breaker: { failureThreshold: 3, openMs: 300, maxOpenMs: 300 } }, expectedReplicas: 2, failureMode },
      deployments: { fake: deploymentFor(fakes[0] as never) },
      // 5 × $200/M + 2 × $300/M = $0.0016 a request ("count me" → "ok done").
      models: { priced: { targets: [{ deployment: 'fake', model: 'up', price: { input: 200, output: 300 } }] } },
      tenants: {
        budgeted: { keys: [BUDGETED], budgets: [{ period: 'lifetime', limitUsd: '0.02' }] },
        free: { keys: [FREE] },
      },
    }),
  });
  cleanups.push(() => h.close());
  return h;
}

const body = chatBody('priced', { max_tokens: 2, messages: [{ role: 'user', content: 'count me' }] });

describe.skipIf(!canRun)('budgets while Redis is down', () => {
  it('fail-open: admits on this replica’s share of what was left, then refuses; other teams unaffected', async () => {
    const redis = await startRedisServer();
    cleanups.push(() => redis.stop());
    const h = await gateway(redis.url, 'open');
    // Six requests while Redis answers: $0.0096 of $0.02 spent.
    for (let i = 0; i < 6; i++) expect((await chat(h.url, body, { key: BUDGETED })).status).toBe(200);
    await new Promise((r) => setTimeout(r, 50));
    await redis.stop();
    const results = [];
    for (let i = 0; i < 12; i++) results.push(await chat(h.url, body, { key: BUDGETED }));
    const admitted = results.filter((r) => r.status === 200).length;
    const refused = results.filter((r) => r.status !== 200);
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((r) => r.status === 429 && r.json().error.code === 'budget_exceeded')).toBe(true);
    // This replica's share: ($0.02 − $0.0096) ÷ 2 replicas = $0.0052, in worst cases (not the
    // plain $0.02 ÷ 2 = $0.01 a share that forgot what was spent would allow).
    const worst = Number(/could cost up to \$([0-9.]+)/.exec(refused[0]!.json().error.message)?.[1]);
    expect(admitted).toBe(Math.floor(0.0052 / worst + 1e-9));
    expect(admitted).toBeLessThan(Math.floor(0.01 / worst + 1e-9));
    expect(await metric(h.url, 'gateway_budget_degraded_total', { mode: 'open' })).toBeGreaterThan(0);
    expect((await chat(h.url, body, { key: FREE })).status).toBe(200);
  }, 30_000);

  it('fail-closed: 503 budget_unavailable with Retry-After; teams without budgets are served', async () => {
    const redis = await startRedisServer();
    cleanups.push(() => redis.stop());
    const h = await gateway(redis.url, 'closed');
    expect((await chat(h.url, body, { key: BUDGETED })).status).toBe(200);
    await redis.stop();
    const refused = await chat(h.url, body, { key: BUDGETED });
    expect(refused.status).toBe(503);
    expect(refused.json().error.code).toBe('budget_unavailable');
    expect(Number(refused.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect((await chat(h.url, body, { key: FREE })).status).toBe(200);
    expect(h.fakes[0]!.stats.requests).toBe(2);
  }, 30_000);
});
