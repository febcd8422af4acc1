/**
 * Latencies for the live console, in a fixed log-linear layout: bucket 0 holds [0, 1) ms, then 8
 * linear sub-buckets per power of two up to 2^21 ms (35 min; longer values land in the last
 * one). A percentile is the middle of its bucket: within 1/16 (6 %) of the true value, from 169
 * counters whatever the traffic, so a second of a thousand requests costs what a second of one
 * does. Recording is a few integer operations: no array of samples, no sort.
 */
const SUB_BUCKETS = 8;
const MAX_EXPONENT = 21;
const TOP_MS = 2 ** MAX_EXPONENT;
export const BUCKET_COUNT = 1 + MAX_EXPONENT * SUB_BUCKETS;

/** The bucket a duration in ms falls in (NaN and negatives in bucket 0). */
export function bucketOf(ms: number): number {
  if (!(ms >= 1)) return 0;
  const v = ms < TOP_MS ? ms : TOP_MS - 1;
  const exponent = 31 - Math.clz32(v);
  return 1 + exponent * SUB_BUCKETS + Math.floor((v / 2 ** exponent - 1) * SUB_BUCKETS);
}

/** The value a bucket stands for: its middle. */
export function bucketMiddle(bucket: number): number {
  if (bucket <= 0) return 0.5;
  const exponent = Math.floor((bucket - 1) / SUB_BUCKETS);
  const sub = (bucket - 1) % SUB_BUCKETS;
  return 2 ** exponent * (1 + (sub + 0.5) / SUB_BUCKETS);
}

export interface Percentiles {
  readonly p50: number;
  readonly p95: number;
}

export class LatencyHistogram {
  readonly counts = new Uint32Array(BUCKET_COUNT);
  count = 0;

  add(ms: number): void {
    this.counts[bucketOf(ms)]!++;
    this.count++;
  }

  merge(other: LatencyHistogram): void {
    if (other.count === 0) return;
    const mine = this.counts;
    const theirs = other.counts;
    for (let i = 0; i < BUCKET_COUNT; i++) mine[i]! += theirs[i]!;
    this.count += other.count;
  }

  reset(): void {
    if (this.count === 0) return;
    this.counts.fill(0);
    this.count = 0;
  }

  /** p50 and p95 (ms, rounded to 0.1), or null when nothing was recorded. */
  percentiles(): Percentiles | null {
    if (this.count === 0) return null;
    return { p50: this.#quantile(0.5), p95: this.#quantile(0.95) };
  }

  #quantile(q: number): number {
    // The smallest bucket holding at least q of the samples (nearest rank).
    const rank = Math.max(1, Math.ceil(q * this.count));
    let seen = 0;
    for (let i = 0; i < BUCKET_COUNT; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Math.round(bucketMiddle(i) * 10) / 10;
    }
    return Math.round(bucketMiddle(BUCKET_COUNT - 1) * 10) / 10;
  }
}
