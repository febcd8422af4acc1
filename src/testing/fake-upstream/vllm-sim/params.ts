/**
 * The knobs of one simulated vLLM instance. Durations are milliseconds of simulated engine time;
 * `speed` divides them all, so a fleet can mix fast and slow replicas of the same shape.
 */
export interface SimParams {
  /** Model name served (`/v1/models`, the `model_name` label, the only accepted `model`). */
  model: string;
  /** Prefill cost per uncached prompt token. */
  prefillMsPerToken: number;
  /** Fixed cost of every engine step. */
  decodeBaseMs: number;
  /** Extra step cost per running sequence: decode time per token grows with the batch. */
  decodeMsPerSeq: number;
  /** Most sequences running at once. */
  maxBatch: number;
  /** KV cache size in tokens (rounded down to whole blocks); also the longest prompt + output. */
  kvCapacityTokens: number;
  /** Prefix cache size in blocks of BLOCK_TOKENS tokens. */
  prefixCacheBlocks: number;
  /** Most requests waiting for admission; more get 503. */
  maxWaiting: number;
  /** Output length when the request names none. */
  defaultOutputTokens: number;
  /** Cap on a request's `max_tokens`. */
  maxOutputTokens: number;
  /** Divides every duration: 2 is twice as fast. */
  speed: number;
}

/** Tokens in one KV / prefix-cache block, as in vLLM. */
export const BLOCK_TOKENS = 16;

/**
 * A GPU-like shape scaled to milliseconds, so a benchmark runs minutes: a 2,000-token prompt
 * prefills in 40 ms, an idle step takes 2.1 ms, a full batch of 64 steps at 8.4 ms.
 */
export const defaultSimParams: Readonly<SimParams> = Object.freeze({
  model: 'vllm-sim',
  prefillMsPerToken: 0.02,
  decodeBaseMs: 2,
  decodeMsPerSeq: 0.1,
  maxBatch: 64,
  kvCapacityTokens: 65_536,
  prefixCacheBlocks: 2_048,
  maxWaiting: 512,
  defaultOutputTokens: 64,
  maxOutputTokens: 2_048,
  speed: 1,
});

/** Merges a partial over the defaults; throws RangeError naming the first bad parameter. */
export function simParams(patch: Partial<SimParams> = {}): SimParams {
  const merged: SimParams = { ...defaultSimParams };
  for (const [key, value] of Object.entries(patch) as Array<[keyof SimParams, unknown]>) {
    if (value !== undefined) Object.assign(merged, { [key]: value });
  }
  if (typeof merged.model !== 'string' || merged.model === '') throw new RangeError('model must be a non-empty string');
  for (const key of ['prefillMsPerToken', 'decodeBaseMs', 'decodeMsPerSeq'] as const) {
    if (!Number.isFinite(merged[key]) || merged[key] < 0) throw new RangeError(`${key} must be finite and >= 0`);
  }
  for (const key of ['maxBatch', 'defaultOutputTokens', 'maxOutputTokens'] as const) {
    if (!Number.isInteger(merged[key]) || merged[key] < 1) throw new RangeError(`${key} must be an integer >= 1`);
  }
  for (const key of ['prefixCacheBlocks', 'maxWaiting'] as const) {
    if (!Number.isInteger(merged[key]) || merged[key] < 0) throw new RangeError(`${key} must be an integer >= 0`);
  }
  if (!Number.isInteger(merged.kvCapacityTokens) || merged.kvCapacityTokens < BLOCK_TOKENS) {
    throw new RangeError(`kvCapacityTokens must be an integer >= ${BLOCK_TOKENS}`);
  }
  if (!Number.isFinite(merged.speed) || merged.speed <= 0) throw new RangeError('speed must be finite and > 0');
  return merged;
}
