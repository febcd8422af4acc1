/**
 * Fallbacks obey the key's model allow-list and each alias's own limits (issue 9 §1), a refused
 * parameter does not silently swap the model, and the retry budget only limits another try on
 * a deployment that already failed (issue 10 §3). Real sockets, fake upstreams.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, deploymentFor, startHarness, type Harness, type HarnessOptions } from './helpers/harness.js';

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

const CHEAP_ONLY = 'sk-cheap-only-tenant-01';
const BOTH = 'sk-both-models-tenant-01';
const weatherTool = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } };

/**
 * `cheap` is served by Triton and falls back to `premium` (OpenAI protocol). Tenant `small` may
 * use only `cheap`; tenant `big` both, with `premium` limited to one request (no refill to speak of).
 */
function cheapAndPremium(cheapExtra: Json = {}, limits: Json = {}, extra: Json = {}): Promise<Harness> {
  return start({
    fakes: [{ dialect: 'triton', name: 'triton' }, { dialect: 'openai', name: 'premium' }],
    config: ([triton, premium]) => ({
      deployments: { triton: deploymentFor(triton!), openai: deploymentFor(premium!) },
      models: {
        cheap: { targets: [{ deployment: 'triton', model: 'ensemble' }], fallbacks: ['premium'], ...cheapExtra },
        premium: { targets: [{ deployment: 'openai', model: 'gpt-4o' }] },
      },
      tenants: {
        small: { keys: [CHEAP_ONLY], models: ['cheap'], limits: { requests: { capacity: 10, refillPerSecond: 0.001 } } },
        big: {
          keys: [BOTH],
          models: ['cheap', 'premium'],
          limits: { requests: { capacity: 10, refillPerSecond: 0.001 } },
          modelLimits: { premium: { requests: { capacity: 1, refillPerSecond: 0.001 } }, ...limits },
        },
      },
      ...extra,
    }),
  });
}

describe('issue 9 §1: fallbacks obey the allow-list and each alias\'s limits', () => {
  it('the reported case: a cheap-only tenant sending tools gets the 400 naming the parameter; premium is never called (5 of 5)', async () => {
    const h = await cheapAndPremium();
    const [triton, premium] = h.fakes;
    for (let i = 0; i < 5; i++) {
      const res = await chat(h.url, chatBody('cheap', { tools: [weatherTool] }), { key: CHEAP_ONLY });
      expect(res.status).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'unsupported_parameter', param: 'tools' });
      // Nothing was sent upstream, so no attempt is reported.
      expect(res.headers['x-gateway-attempts']).toBeUndefined();
    }
    expect(triton!.stats.requests).toBe(0);
    expect(premium!.stats.requests).toBe(0);
  });

  it('a forbidden fallback is never reached, even where the alias allows falling back: the client sees the real failure, not model_not_allowed', async () => {
    const h = await cheapAndPremium({ fallbackOnUnsupportedParameter: true });
    const [triton, premium] = h.fakes;
    const refused = await chat(h.url, chatBody('cheap', { tools: [weatherTool] }), { key: CHEAP_ONLY });
    expect(refused.status).toBe(400);
    expect(refused.json().error).toMatchObject({ code: 'unsupported_parameter', param: 'tools' });

    triton!.setBehaviour({ failureRate: 1 });
    const failed = await chat(h.url, chatBody('cheap'), { key: CHEAP_ONLY });
    expect(failed.status).toBe(502);
    expect(failed.json().error.code).toBe('upstream_error');
    expect(failed.headers['x-gateway-provider']).toBe('triton');
    expect(premium!.stats.requests).toBe(0);
  });

  it('an allowed fallback is admitted against its own limit (capacity 1): the first is served by premium, the second gets premium\'s 429', async () => {
    const h = await cheapAndPremium({}, {});
    const [triton, premium] = h.fakes;
    triton!.setBehaviour({ failureRate: 1 });
    const first = await chat(h.url, chatBody('cheap'), { key: BOTH });
    expect(first.status).toBe(200);
    expect(first.headers['x-gateway-model']).toBe('premium');
    const second = await chat(h.url, chatBody('cheap'), { key: BOTH });
    expect(second.status).toBe(429);
    expect(second.json().error.code).toBe('rate_limit_exceeded');
    expect(Number(second.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(premium!.stats.requests).toBe(1);
  });

  it('the bucket charged is the one of the alias that served: cheap gets its request back, premium keeps it', async () => {
    // A breaker that stays closed, so the later direct request can reach Triton again.
    const h = await cheapAndPremium({}, { cheap: { requests: { capacity: 1, refillPerSecond: 0.001 } } }, { circuitBreaker: { failureThreshold: 100 } });
    const [triton] = h.fakes;
    triton!.setBehaviour({ failureRate: 1 });
    const viaFallback = await chat(h.url, chatBody('cheap'), { key: BOTH });
    expect(viaFallback.status).toBe(200);
    expect(viaFallback.headers['x-gateway-model']).toBe('premium');
    // premium's single request was spent by the fallback…
    expect((await chat(h.url, chatBody('premium'), { key: BOTH })).status).toBe(429);
    // …and cheap's single request was given back, so cheap still admits one (served by Triton).
    triton!.setBehaviour({ failureRate: 0 });
    const direct = await chat(h.url, chatBody('cheap'), { key: BOTH });
    expect(direct.status).toBe(200);
    expect(direct.headers['x-gateway-model']).toBe('cheap');
    expect((await chat(h.url, chatBody('cheap'), { key: BOTH })).status).toBe(429);
  });

  it('another deployment of the same alias that can express the parameter still serves it', async () => {
    const h = await start({
      fakes: [{ dialect: 'triton', name: 'triton' }, { dialect: 'openai', name: 'vllm' }],
      config: ([triton, vllm]) => ({
        deployments: { triton: deploymentFor(triton!), vllm: deploymentFor(vllm!, { provider: 'vllm' }) },
        models: { cheap: { strategy: 'priority', targets: [{ deployment: 'triton', model: 'ensemble', priority: 0 }, { deployment: 'vllm', model: 'llama', priority: 1 }] } },
        retry: { maxAttempts: 1 },
      }),
    });
    const res = await chat(h.url, chatBody('cheap', { tools: [weatherTool] }));
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('vllm');
    // The skipped Triton deployment was no attempt: maxAttempts 1 still reached vllm.
    expect(res.headers['x-gateway-attempts']).toBe('1');
    expect(h.fakes.map((f) => f.stats.requests)).toEqual([0, 1]);
  });
});

describe('issue 10 §3: the retry budget never starves a move to something that has not failed', () => {
  /** The demo's gpt-stable (flaky first, healthy second) plus an alias falling back to a healthy one; the budget is spent. */
  function spentBudget(): Promise<Harness> {
    return start({
      fakes: [{ dialect: 'openai', name: 'flaky' }, { dialect: 'openai', name: 'healthy' }],
      config: ([flaky, healthy]) => ({
        deployments: { 'flaky-openai': deploymentFor(flaky!), 'fast-vllm': deploymentFor(healthy!) },
        models: {
          'gpt-stable': { strategy: 'priority', targets: [{ deployment: 'flaky-openai', model: 'gpt-4o-mini', priority: 0 }, { deployment: 'fast-vllm', model: 'llama', priority: 1 }] },
          'only-flaky': { targets: [{ deployment: 'flaky-openai', model: 'gpt-4o-mini' }], fallbacks: ['healthy'] },
          healthy: { targets: [{ deployment: 'fast-vllm', model: 'llama' }] },
        },
        retry: { budgetPercent: 0, budgetMinConcurrent: 0 },
        circuitBreaker: { failureThreshold: 100 },
      }),
    });
  }

  it('the demo\'s case: gpt-stable answers 200 from fast-vllm when flaky-openai fails, budget spent', async () => {
    const h = await spentBudget();
    h.fakes[0]!.setBehaviour({ failureRate: 1 });
    const res = await chat(h.url, chatBody('gpt-stable'));
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('fast-vllm');
    expect(res.headers['x-gateway-attempts']).toBe('2');
  });

  it('a fallback to a healthy alias is taken with the budget spent', async () => {
    const h = await spentBudget();
    h.fakes[0]!.setBehaviour({ failureRate: 1 });
    const res = await chat(h.url, chatBody('only-flaky'));
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-model']).toBe('healthy');
  });

  it('broad outage: with the budget spent each deployment is tried once per request, never again', async () => {
    const h = await spentBudget();
    for (const f of h.fakes) f.setBehaviour({ failureRate: 1 });
    const res = await chat(h.url, chatBody('gpt-stable'));
    expect(res.status).toBe(502);
    expect(res.headers['x-gateway-attempts']).toBe('2');
    expect(h.fakes.map((f) => f.stats.requests)).toEqual([1, 1]);
  });
});

describe('issue 10 §3: a single-deployment alias and its half-open probe (deliberate, docs/configuration.md)', () => {
  it('open: fast 503s; the probe is a first attempt that needs no budget: a failed probe gives its client the real 502 and re-opens for 2 × openMs; a good one closes', async () => {
    const openMs = 1_500;
    const h = await start({
      fakes: [{ dialect: 'openai', name: 'only' }],
      config: ([only]) => ({
        deployments: { only: deploymentFor(only!) },
        models: { solo: { targets: [{ deployment: 'only', model: 'x' }] } },
        retry: { budgetPercent: 0, budgetMinConcurrent: 0 },
        circuitBreaker: { failureThreshold: 3, openMs, jitterRatio: 0 },
      }),
    });
    const fake = h.fakes[0]!;
    const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
    fake.setBehaviour({ failureRate: 1 });
    // Budget spent: each request makes one attempt on the only deployment, so three open it.
    for (let i = 0; i < 3; i++) expect((await chat(h.url, chatBody('solo'))).status).toBe(502);
    expect(fake.stats.requests).toBe(3);
    const open = await chat(h.url, chatBody('solo'));
    expect(open.status).toBe(503);
    expect(open.json().error.code).toBe('no_available_deployment');
    expect(Number(open.headers['retry-after'])).toBeLessThanOrEqual(Math.ceil(openMs / 1000));

    await sleep(openMs + 300);
    const probe = await chat(h.url, chatBody('solo'));
    expect(probe.status).toBe(502);
    expect(fake.stats.requests).toBe(4);
    const reopened = await chat(h.url, chatBody('solo'));
    expect(reopened.status).toBe(503);
    // The second opening lasts 2 × openMs.
    expect(Number(reopened.headers['retry-after'])).toBeGreaterThan(Math.ceil(openMs / 1000));

    await sleep(2 * openMs + 300);
    fake.setBehaviour({ failureRate: 0 });
    expect((await chat(h.url, chatBody('solo'))).status).toBe(200);
    expect((await chat(h.url, chatBody('solo'))).status).toBe(200);
  });
});
