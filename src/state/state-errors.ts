/** Why a shared-state call failed: a closed vocabulary, used as a metric label. */
export type StateFailureReason = 'timeout' | 'connection' | 'breaker_open' | 'error';

/**
 * The shared state backend (Redis) could not answer in time. Limits then apply their failure
 * mode (open: local fallback; closed: refuse); nothing else in the request flow depends on it.
 */
export class StateUnavailableError extends Error {
  /**
   * Set when the call timed out but may still have run: resolves with its result if that
   * arrives after all (never settles otherwise), so the caller can reconcile what it decided
   * without it (an unknown outcome must not be counted twice).
   */
  readonly late: Promise<unknown> | undefined;

  constructor(
    readonly reason: StateFailureReason,
    /** Whole ms until the backend is tried again (the Redis breaker's open period), ≥ 0. */
    readonly retryAfterMs: number,
    options?: { cause?: unknown; late?: Promise<unknown> },
  ) {
    super(`shared state unavailable (${reason})`, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'StateUnavailableError';
    this.late = options?.late;
  }
}

/** Classifies an ioredis failure without ever echoing its message (it may name hosts). */
export function reasonFor(err: unknown): StateFailureReason {
  const message = err instanceof Error ? err.message : '';
  if (/timed out/i.test(message)) return 'timeout';
  if (/ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|closed|writeable|ready|Connection|LOADING|READONLY|CLUSTERDOWN|TRYAGAIN|MASTERDOWN|max retries per request/i.test(message)) return 'connection';
  return 'error';
}
