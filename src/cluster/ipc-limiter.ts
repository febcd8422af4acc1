import type { RateLimiter, BucketSpec, LimitCheck, LimitDecision } from '../ratelimit/limiter.js';
import { validateAdjustment } from '../ratelimit/memory-limiter.js';
import type { RpcClient, RpcHandlers } from './rpc.js';

/**
 * The rate limiter of a `--workers N` process group: one MemoryRateLimiter in the primary, and
 * this client in every worker, so limits are exact across workers (L-05) as they would be in
 * one process. A decision costs one IPC round trip (shared with the other calls of the same
 * event-loop turn, see rpc.ts). If the primary does not answer within the
 * RPC timeout the call rejects and the request fails (500); the primary is local, so that
 * means it is stuck or gone.
 */
export class IpcRateLimiter implements RateLimiter {
  constructor(private readonly rpc: RpcClient) {}

  async consume(checks: readonly LimitCheck[]): Promise<LimitDecision> {
    return (await this.rpc.call('limiter.consume', checks)) as LimitDecision;
  }

  /** One-way: the settlement of a token reservation needs no answer (callers ignore its errors). */
  async adjust(key: string, bucket: BucketSpec, delta: number): Promise<void> {
    // The primary would refuse these; refuse them here, where the caller can still hear it.
    validateAdjustment(bucket, delta);
    this.rpc.notify('limiter.adjust', { key, bucket, delta });
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
