import { TTFT_BUCKETS_S, type EngineSnapshot } from './engine.js';

/**
 * The simulator's /metrics in the Prometheus text format (0.0.4), with vLLM v1's metric names
 * and a `model_name` label, as prometheus_client writes them (counters keep `_total` in HELP/TYPE).
 */
export function renderMetrics(snapshot: EngineSnapshot, model: string): string {
  const label = `model_name="${model.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;
  const lines: string[] = [];
  const family = (name: string, type: string, help: string, value: number): void => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, `${name}{${label}} ${value}`);
  };
  const c = snapshot.counters;
  family('vllm:num_requests_running', 'gauge', 'Number of requests in model execution batches.', snapshot.running);
  family('vllm:num_requests_waiting', 'gauge', 'Number of requests waiting to be processed.', snapshot.waiting);
  family('vllm:kv_cache_usage_perc', 'gauge', 'KV-cache usage. 1 means 100 percent usage.', snapshot.kvCacheUsage);
  family('vllm:prefix_cache_queries_total', 'counter', 'Prefix cache queries, in terms of number of queried tokens.', c.prefixQueryTokens);
  family('vllm:prefix_cache_hits_total', 'counter', 'Prefix cache hits, in terms of number of cached tokens.', c.prefixHitTokens);
  family('vllm:prompt_tokens_total', 'counter', 'Number of prefill tokens processed.', c.promptTokens);
  family('vllm:generation_tokens_total', 'counter', 'Number of generation tokens processed.', c.generationTokens);
  const ttft = 'vllm:time_to_first_token_seconds';
  lines.push(`# HELP ${ttft} Histogram of time to first token in seconds.`, `# TYPE ${ttft} histogram`);
  let cumulative = 0;
  TTFT_BUCKETS_S.forEach((bound, i) => {
    cumulative += snapshot.ttftSeconds.counts[i] ?? 0;
    lines.push(`${ttft}_bucket{${label},le="${bound}"} ${cumulative}`);
  });
  lines.push(`${ttft}_bucket{${label},le="+Inf"} ${snapshot.ttftSeconds.count}`);
  lines.push(`${ttft}_sum{${label}} ${snapshot.ttftSeconds.sum}`, `${ttft}_count{${label}} ${snapshot.ttftSeconds.count}`);
  return `${lines.join('\n')}\n`;
}
