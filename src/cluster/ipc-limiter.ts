import type { RateLimiter, BucketSpec, LimitCheck, LimitDecision } from '../ratelimit/limiter.js';
import { validateAdjustment } from '../ratelimit/memory-limiter.js';
import { StateUnavailableError } from '../state/state-errors.js';
import { RpcUnavailableError, type RpcClient, type RpcHandlers } from './rpc.js';

// How soon a refused client may try again when the primary did not answer.
const PRIMARY_RETRY_AFTER_MS = 1_000;

/**
 * The rate limiter of a `--workers N` process group: one MemoryRateLimiter in the primary, and
 * this client in every worker, so limits are exact across workers (L-05) as they would be in
 * one process. A decision costs one IPC round trip (shared with the other calls of the same
 * event-loop turn, see rpc.ts). If the primary does not answer within the RPC timeout (it is
 * stuck or gone) the call rejects with StateUnavailableError, like an unavailable Redis, so the
 * worker's FallbackRateLimiter applies each limit's failure mode (fail-open local share or 503).
 */
export class IpcRateLimiter implements RateLimiter {
  constructor(private readonly rpc: RpcClient) {}

  async consume(checks: readonly LimitCheck[]): Promise<LimitDecision> {
    return (await primaryCall(this.rpc, 'limiter.consume', checks)) as LimitDecision;
  }

  /** One-way: the settlement of a token reservation needs no answer (callers ignore its errors). */
  async adjust(key: string, bucket: BucketSpec, delta: number): Promise<void> {
    // The primary would refuse these; refuse them here, where the caller can still hear it.
    validateAdjustment(bucket, delta);
    this.rpc.notify('limiter.adjust', { key, bucket, delta });
  }
}

/** An RPC call to the primary whose unavailability reads as the shared state's (see StateUnavailableError). */
export async function primaryCall(rpc: RpcClient, method: string, params: unknown): Promise<unknown> {
  try {
    return await rpc.call(method, params);
  } catch (err) {
    if (!(err instanceof RpcUnavailableError)) throw err;
    const reason = /cannot reach/.test(err.message) ? 'connection' : 'timeout';
    throw new StateUnavailableError(reason, PRIMARY_RETRY_AFTER_MS, { cause: err });
  }
}

/** The primary's side: serves `limiter.*` calls from a real limiter. */
export function limiterHandlers(limiter: RateLimiter): RpcHandlers {
  return {
    'limiter.consume': async (params) => limiter.consume(params as LimitCheck[]),
    'limiter.adjust': async (params) => {
      const { key, bucket, delta } = params as { key: string; bucket: BucketSpec; delta: number };
      await limiter.adjust(key, bucket, delta);
      return null;
    },
  };
}
