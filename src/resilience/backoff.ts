/**
 * Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and
 * Jitter"): spreading retries uniformly over the whole window de-synchronises clients that
 * failed together, which equal or "equal-jitter" delays do not.
 */

export interface BackoffPolicy {
  /** Window for the first retry, in ms (≥ 0). */
  readonly baseDelayMs: number;
  /** Upper bound of any window, in ms (≥ 0). */
  readonly maxDelayMs: number;
}

// 2^1023 is the largest finite power of two: clamping the exponent keeps base × 2^n from
// becoming NaN (0 × Infinity); an overflow to Infinity is then removed by the finite cap.
const MAX_EXPONENT = 1023;

/**
 * Delay in ms before retry number `retryIndex` (0-based): uniform in
 * [0, min(maxDelayMs, baseDelayMs × 2^retryIndex)]. Always finite and ≥ 0, never throws:
 * negative, NaN or infinite delays count as 0, NaN/negative indexes as 0, an infinite index as
 * huge, and `random()` is clamped to [0, 1].
 */
export function backoffDelayMs(
  policy: BackoffPolicy,
  retryIndex: number,
  random: () => number = Math.random,
): number {
  const windowMs = backoffWindowMs(policy, retryIndex);
  return windowMs * clampUnit(random());
}

/** The upper bound in ms of the jitter window for `retryIndex` (0-based); finite, ≥ 0. */
export function backoffWindowMs(policy: BackoffPolicy, retryIndex: number): number {
  const base = nonNegative(policy.baseDelayMs);
  const cap = nonNegative(policy.maxDelayMs);
  const exponent = retryIndex > 0 ? Math.min(MAX_EXPONENT, Math.floor(retryIndex)) : 0;
  return Math.min(cap, base * 2 ** exponent);
}

function nonNegative(value: number): number {
  return Number.isFinite(value) && value > 0 ? value : 0;
}

function clampUnit(value: number): number {
  if (!(value > 0)) return 0; // also catches NaN
  return value > 1 ? 1 : value;
}
