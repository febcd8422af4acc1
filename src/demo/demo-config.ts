import type { ConfigInput, PriceConfig } from '../config/schema.js';
import { catalog } from '../spend/catalog-data.js';

/** Demo tenants and their keys; the keys exist only inside the demo process. */
export const demoTenants = [
  { name: 'team-a', key: 'sk-demo-team-a' },
  { name: 'team-b', key: 'sk-demo-team-b' },
  { name: 'team-c', key: 'sk-demo-team-c' },
] as const;

/**
 * The team on a budget: a daily soft limit (an alert) and hard limit (a stop), tiny so that a
 * handful of its calls reach them. Each call sends `budgetPrompt` (about 1,500 prompt tokens)
 * to `llama-8b` with `max_tokens: 100`, so each costs about $0.000077 and reserves, worst case,
 * about $0.00013: the third or fourth call crosses the soft limit and the sixth does not fit.
 */
export const budgetTeam = {
  name: 'team-e',
  key: 'sk-demo-team-e',
  model: 'llama-8b',
  maxTokens: 100,
  budget: { period: 'daily', softLimitUsd: '0.0003', limitUsd: '0.0005' },
} as const;

/** A report for team-e to summarise: the same sentence, 150 times (≈ 1,500 words, 9 KB). */
export const budgetPrompt = `Summarise this report in one line. ${'Quarterly usage grew in every region while unit costs fell again. '.repeat(150).trim()}`;

/**
 * Prices in US dollars per million tokens. The fakes run on 127.0.0.1, so the shipped catalogue
 * (which prices only the vendors' own hosts) gives them none: the config sets each. Self-hosted
 * engines get a small rate of one's own (the GPU hours behind them); the OpenAI-protocol fake
 * bills what OpenAI lists for the model it names.
 */
const vllmPrice: PriceConfig = { input: '0.05', output: '0.08' };
const tritonPrice: PriceConfig = { input: '0.1', output: '0.2' };
const gpt4oMiniPrice: PriceConfig = listPrice('gpt-4o-mini');

/** Each fake's price, for the demo's description of its setup. */
export const demoPrices = [
  { deployment: 'fast-vllm', price: vllmPrice, why: 'own rate' },
  { deployment: 'slow-triton', price: tritonPrice, why: 'own rate' },
  { deployment: 'flaky-openai', price: gpt4oMiniPrice, why: "gpt-4o-mini's list price" },
] as const;

function listPrice(model: string): PriceConfig {
  const entry = catalog.openai.find((e) => e.model === model);
  if (!entry) throw new Error(`the price catalogue has no OpenAI '${model}'`);
  return entry.price;
}

/** The team the demo makes at runtime through the admin API (the others are in the config). */
export const runtimeTeam = { name: 'team-d', models: ['gpt-mini'] } as const;

/**
 * The variable the bootstrap admin key is read from. The demo generates the key and resolves its
 * config with an environment of its own holding only this variable, so nothing from the real
 * environment (DATABASE_URL, say) can point the demo at a service.
 */
export const demoAdminKeyEnv = 'LLM_GATEWAY_DEMO_ADMIN_KEY';

/**
 * The gateway config the demo generates around its three fakes: `gpt-mini` balances by weight
 * over all three, `gpt-stable` prefers the flaky OpenAI (so its breaker has something to do),
 * `llama-triton` falls back to `gpt-mini` when Triton fails, and `llama-8b` is vLLM alone (for
 * team-e, whose budget must be reached by a predictable number of calls). team-c has a tight
 * rate limit, team-e a budget whose soft-limit alerts go to the demo's webhook receiver. The
 * control plane runs on a throw-away embedded database, with the admin API on the gateway's port.
 */
export function demoConfig(urls: { vllm: string; triton: string; openai: string; budgetHook: string }): ConfigInput {
  return {
    server: { host: '127.0.0.1', port: 0 },
    logging: { level: 'silent' },
    retry: { baseDelayMs: 20, maxDelayMs: 100 },
    circuitBreaker: { failureThreshold: 3, openMs: 30_000 },
    timeouts: { firstByteMs: 5_000, idleMs: 5_000, totalMs: 20_000 },
    deployments: {
      'fast-vllm': { provider: 'vllm', baseUrl: urls.vllm },
      'slow-triton': { provider: 'triton', baseUrl: urls.triton },
      'flaky-openai': { provider: 'openai', baseUrl: urls.openai },
    },
    models: {
      'gpt-mini': {
        strategy: 'weighted',
        targets: [
          { deployment: 'fast-vllm', model: 'meta-llama/Llama-3.1-8B-Instruct', weight: 3, price: vllmPrice },
          { deployment: 'slow-triton', model: 'ensemble', weight: 1, price: tritonPrice },
          { deployment: 'flaky-openai', model: 'gpt-4o-mini', weight: 1, price: gpt4oMiniPrice },
        ],
      },
      'gpt-stable': {
        strategy: 'priority',
        targets: [
          { deployment: 'flaky-openai', model: 'gpt-4o-mini', priority: 0, price: gpt4oMiniPrice },
          { deployment: 'fast-vllm', model: 'meta-llama/Llama-3.1-8B-Instruct', priority: 1, price: vllmPrice },
        ],
      },
      'llama-triton': {
        targets: [{ deployment: 'slow-triton', model: 'ensemble', price: tritonPrice }],
        fallbacks: ['gpt-mini'],
      },
      [budgetTeam.model]: {
        targets: [{ deployment: 'fast-vllm', model: 'meta-llama/Llama-3.1-8B-Instruct', price: vllmPrice }],
      },
    },
    tenants: {
      'team-a': { keys: ['sk-demo-team-a'] },
      'team-b': { keys: ['sk-demo-team-b'], models: ['gpt-mini', 'llama-triton'] },
      'team-c': { keys: ['sk-demo-team-c'], limits: { requests: { capacity: 3, refillPerSecond: 0.1 } } },
      [budgetTeam.name]: { keys: [budgetTeam.key], models: [budgetTeam.model], budgets: [budgetTeam.budget] },
    },
    budgets: { webhook: { url: urls.budgetHook, timeoutMs: 2_000, maxAttempts: 2 } },
    state: { database: { dataDir: ':memory:' } },
    admin: { bootstrapKey: `\${env:${demoAdminKeyEnv}}` },
  };
}
