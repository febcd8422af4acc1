import type { ConfigInput } from '../config/schema.js';

/** Demo tenants and their keys; the keys exist only inside the demo process. */
export const demoTenants = [
  { name: 'team-a', key: 'sk-demo-team-a' },
  { name: 'team-b', key: 'sk-demo-team-b' },
  { name: 'team-c', key: 'sk-demo-team-c' },
] as const;

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
 * and `llama-triton` falls back to `gpt-mini` when Triton fails. team-c has a tight limit. The
 * control plane runs on a throw-away embedded database, with the admin API on the gateway's port.
 */
export function demoConfig(urls: { vllm: string; triton: string; openai: string }): ConfigInput {
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
          { deployment: 'fast-vllm', model: 'meta-llama/Llama-3.1-8B-Instruct', weight: 3 },
          { deployment: 'slow-triton', model: 'ensemble', weight: 1 },
          { deployment: 'flaky-openai', model: 'gpt-4o-mini', weight: 1 },
        ],
      },
      'gpt-stable': {
        strategy: 'priority',
        targets: [
          { deployment: 'flaky-openai', model: 'gpt-4o-mini', priority: 0 },
          { deployment: 'fast-vllm', model: 'meta-llama/Llama-3.1-8B-Instruct', priority: 1 },
        ],
      },
      'llama-triton': {
        targets: [{ deployment: 'slow-triton', model: 'ensemble' }],
        fallbacks: ['gpt-mini'],
      },
    },
    tenants: {
      'team-a': { keys: ['sk-demo-team-a'] },
      'team-b': { keys: ['sk-demo-team-b'], models: ['gpt-mini', 'llama-triton'] },
      'team-c': { keys: ['sk-demo-team-c'], limits: { requests: { capacity: 3, refillPerSecond: 0.1 } } },
    },
    state: { database: { dataDir: ':memory:' } },
    admin: { bootstrapKey: `\${env:${demoAdminKeyEnv}}` },
  };
}
