// The routing benchmark's fleet and gateway configs: four simulated vLLM servers of two classes,
// and one gateway config per strategy variant (alias `chat` over all four, priced).

/** The model every simulator serves and every target names. */
export const simModel = 'llama-sim';
export const alias = 'chat';
export const tenantCount = 4;

export function tenantKey(i) {
  return `sk-routing-bench-tenant-${i}-0123456789abcdef`;
}

/**
 * Two fast servers (a newer GPU: bigger batches, more KV cache and prefix cache) and two slow
 * ones (2× slower per step, half the batch, a third of the KV cache, a prefix cache smaller
 * than the tenants' system prompts together, so it thrashes when every prompt goes everywhere).
 * `speed` scales vllm-sim's millisecond-sized GPU shape to a realistic one (tens of ms per decode
 * step), so a ~10 req/s workload reaches saturation in bursts without the gateway and the client
 * (SSE chunk per token) becoming the bottleneck on 2 cores. Prices: the fast class costs more,
 * and no two deployments cost the same, so `cost` has one answer.
 */
export const fleet = [
  { name: 'fast-a', class: 'fast', price: { input: 0.5, output: 2 }, priority: 0, weight: 3, params: fastParams() },
  { name: 'fast-b', class: 'fast', price: { input: 0.55, output: 2.2 }, priority: 0, weight: 3, params: fastParams() },
  { name: 'slow-a', class: 'slow', price: { input: 0.15, output: 0.6 }, priority: 1, weight: 1, params: slowParams() },
  { name: 'slow-b', class: 'slow', price: { input: 0.18, output: 0.72 }, priority: 1, weight: 1, params: slowParams() },
];

function fastParams() {
  return { model: simModel, speed: 0.2, prefillMsPerToken: 0.02, decodeBaseMs: 2, decodeMsPerSeq: 0.1, maxBatch: 32, kvCapacityTokens: 49_152, prefixCacheBlocks: 2_048, maxWaiting: 256, maxOutputTokens: 2_048 };
}

function slowParams() {
  return { model: simModel, speed: 0.1, prefillMsPerToken: 0.02, decodeBaseMs: 2, decodeMsPerSeq: 0.1, maxBatch: 16, kvCapacityTokens: 16_384, prefixCacheBlocks: 512, maxWaiting: 256, maxOutputTokens: 2_048 };
}

/** Every strategy, and predicted_latency hedged: the default run. */
export const defaultVariants = ['round_robin', 'weighted', 'least_latency', 'priority', 'cost', 'least_loaded', 'prefix_affinity', 'predicted_latency', 'predicted_latency+hedge'];

/** `strategy` or `strategy+hedge` (hedged after the first deployment's p95 TTFT, at most 10 % of requests). */
export function parseVariant(name) {
  const [strategy, extra, more] = name.split('+');
  if (more !== undefined || (extra !== undefined && extra !== 'hedge')) throw new Error(`unknown variant ${name}: use STRATEGY or STRATEGY+hedge`);
  return { name, strategy, ...(extra === 'hedge' ? { hedge: { afterMs: 'p95', maxPercent: 10 } } : {}) };
}

/** The gateway config of one variant, for the fleet `deployments` announced (fleet.mjs). */
export function gatewayConfig(variant, deployments) {
  const byName = Object.fromEntries(fleet.map((d) => [d.name, d]));
  const config = {
    server: { host: '127.0.0.1', port: 0, drainDelayMs: 0 },
    logging: { level: 'warn', format: 'json' },
    deployments: {},
    models: {
      [alias]: {
        strategy: variant.strategy,
        onSloMiss: 'least_bad',
        ...(variant.hedge ? { hedge: variant.hedge } : {}),
        targets: deployments.map((d) => ({ deployment: d.name, model: simModel, weight: byName[d.name].weight, priority: byName[d.name].priority, price: byName[d.name].price })),
      },
    },
    tenants: {},
  };
  for (const d of deployments) {
    // Scraped by the load-aware strategies (docs/routing.md "Server metrics"); ignored by the rest.
    config.deployments[d.name] = { provider: 'vllm', baseUrl: d.baseUrl, maxConnections: 512, metrics: { url: d.metricsUrl, intervalMs: 500, timeoutMs: 250 } };
  }
  for (let i = 0; i < tenantCount; i++) {
    config.tenants[`tenant-${i}`] = {
      keys: [tenantKey(i)],
      models: [alias],
      limits: { requests: { capacity: 1_000_000, refillPerSecond: 1_000_000 }, tokens: { capacity: 1_000_000_000, refillPerSecond: 1_000_000_000 } },
    };
  }
  return config;
}
