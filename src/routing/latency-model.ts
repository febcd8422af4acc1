import { OnlineLinear } from './online-linear.js';
import type { AttemptFeatures, DerivedLatency, TargetStats } from './target-stats.js';

/**
 * One target's online latency model (predicted_latency): time to first token (TTFT) and time per
 * output token (TPOT), each a linear function of the load the request finds, learned from every
 * finished attempt by recursive least squares with forgetting (online-linear.ts), the way llm-d's
 * predicted-latency scheduler learns per server. Two separate models, because prefill (TTFT)
 * grows with the uncached prompt and the queue, while decode (TPOT) grows with the batch.
 *
 * The feature vector x (FEATURE_COUNT values, scaled to similar magnitudes so one P₀ suits all):
 *   0  1                                         intercept: the server's unloaded latency
 *   1  inputTokens × (1 − prefixHit) / 1000      prompt tokens not expected in its prefix cache (prefill work)
 *   2  inFlight                                  our requests already on the deployment
 *   3  inFlightTokens / 1000                     their tokens (prompt + output reserve)
 *   4  waiting                                   the server's own queue, scraped (0 when absent or stale)
 *   5  kvCacheUsage                              the server's KV-cache use 0..1, scraped (0 when absent or stale)
 */

export const FEATURE_COUNT = 6;
/** λ of both models: a sample weighs 0.98^age, a memory of about 50 samples, so a change is tracked within tens of attempts. */
export const FORGETTING = 0.98;
/** Samples a model needs before its prediction replaces the target's decayed average (a few per feature). */
export const MIN_SAMPLES = 10;
/**
 * A model whose newest sample is older than this is dropped at its next sample: the target was
 * idle or avoided, and what it learned may no longer hold (a recovered deployment). Until it has
 * MIN_SAMPLES again the decayed averages stand in, and they weigh a sample after such a gap at
 * 95 % (τ = 10 s), so a recovery shows at once. Also the exploration window (predicted-latency.ts).
 */
export const STALE_AFTER_MS = 30_000;
/** Predictions are clamped to [0, this]: a linear model may extrapolate below zero or far out. */
const MAX_TTFT_MS = 600_000;
const MAX_TPOT_MS = 60_000;
/** Feature values beyond these are garbage, not load (a sample carrying them is not learned). */
const MAX_TOKENS = 10_000_000;
const MAX_COUNT = 1_000_000;

export type LatencyKind = 'ttft' | 'tpot';

/**
 * Writes the feature vector into `x` (length ≥ FEATURE_COUNT). Returns false, leaving x unusable,
 * when an input is not a finite non-negative number in range: such a sample is never learned.
 */
export function writeFeatures(x: Float64Array, inputTokens: number, prefixHit: number, inFlight: number, inFlightTokens: number, waiting: number | undefined, kvCacheUsage: number | undefined): boolean {
  const w = waiting ?? 0;
  const kv = kvCacheUsage ?? 0;
  if (!(inputTokens >= 0 && inputTokens <= MAX_TOKENS && prefixHit >= 0 && prefixHit <= 1)) return false;
  if (!(inFlight >= 0 && inFlight <= MAX_COUNT && inFlightTokens >= 0 && inFlightTokens <= MAX_TOKENS)) return false;
  if (!(w >= 0 && w <= MAX_COUNT && kv >= 0 && kv <= 1)) return false;
  x[0] = 1;
  x[1] = (inputTokens * (1 - prefixHit)) / 1000;
  x[2] = inFlight;
  x[3] = inFlightTokens / 1000;
  x[4] = w;
  x[5] = kv;
  return true;
}

/**
 * writeFeatures for a prediction (a pick): load beyond the range a model learns from (more than
 * MAX_TOKENS in flight, a scrape saying more than MAX_COUNT waiting) is the most load there is,
 * not garbage, so it is clamped into the range: more work never predicts less latency, and the
 * deployment is not predicted at its bare average as if idle. False as writeFeatures otherwise.
 */
export function writePickFeatures(x: Float64Array, inputTokens: number, prefixHit: number, inFlight: number, inFlightTokens: number, waiting: number | undefined, kvCacheUsage: number | undefined): boolean {
  return writeFeatures(x, Math.min(inputTokens, MAX_TOKENS), prefixHit, Math.min(inFlight, MAX_COUNT), Math.min(inFlightTokens, MAX_TOKENS), waiting === undefined ? undefined : Math.min(waiting, MAX_COUNT), kvCacheUsage);
}

/** writeFeatures for the load an attempt found when it started. */
export function writeAttemptFeatures(x: Float64Array, f: AttemptFeatures): boolean {
  return writeFeatures(x, f.inputTokens, f.prefixHit, f.inFlight, f.inFlightTokens, f.waiting, f.kvCacheUsage);
}

export class LatencyModel {
  #ttft = newModel();
  #tpot = newModel();
  /** Monotonic ms of the newest TTFT sample (learned or not), undefined before one. */
  lastSampleMs: number | undefined;
  /** Monotonic ms when predicted-latency last sent this target an exploration trial. */
  lastTrialMs: number | undefined;

  /** `stats`: the target's decayed averages, the fallback while the model is young. */
  constructor(readonly stats: TargetStats) {
    this.lastSampleMs = stats.lastSampleMs;
  }

  /** Samples the model of `kind` has learned (since it was last dropped). */
  samples(kind: LatencyKind): number {
    return this.#model(kind).samples;
  }

  /**
   * The model's prediction for features `x`, or undefined while it has fewer than MIN_SAMPLES.
   * Latency never falls with more work: the prompt's part and the load's part (in flight, queue,
   * KV) each count as at least 0. A fit on samples that greedy routing chose is confounded (the
   * fastest deployment is sent the most, so its busiest moments can look fast) and can learn
   * that load helps, which would herd every request onto it. Clamping the parts, not single
   * weights, keeps features that move together (requests and tokens in flight) free to share
   * their effect between them.
   */
  fitted(kind: LatencyKind, x: Float64Array): number | undefined {
    const m = this.#model(kind);
    if (m.samples < MIN_SAMPLES) return undefined;
    return clamp(m.partial(x, 0, 1) + Math.max(0, m.partial(x, 1, 2)) + Math.max(0, m.partial(x, 2, FEATURE_COUNT)), kind);
  }

  /**
   * The model's prediction once it is ready, else the target's decayed average (TTFT: times the
   * requests in flight there + 1, as least-request balancing scores it: a young model knows
   * nothing of load yet, and without the factor every request would go to the deployment with
   * the best first answer until its answers came back), else undefined (never measured).
   */
  predict(kind: LatencyKind, x: Float64Array): number | undefined {
    const fitted = this.fitted(kind, x);
    if (fitted !== undefined) return fitted;
    const average = kind === 'ttft' ? this.stats.ttftMs : this.stats.tpotMs;
    if (average === undefined || Number.isNaN(average)) return undefined;
    return clamp(kind === 'ttft' ? average * (1 + (x[2] ?? 0)) : average, kind);
  }

  /**
   * Learns one finished attempt: `x` its features (undefined when it has none usable), `derived`
   * its TTFT and TPOT. Values outside [0, the clamp] are garbage and skipped.
   */
  learn(x: Float64Array | undefined, derived: DerivedLatency, endMs: number): void {
    const ttft = derived.ttftMs;
    if (ttft === undefined) return;
    if (Number.isFinite(endMs)) {
      if (this.lastSampleMs !== undefined && endMs - this.lastSampleMs > STALE_AFTER_MS) {
        this.#ttft = newModel();
        this.#tpot = newModel();
      }
      this.lastSampleMs = Math.max(endMs, this.lastSampleMs ?? endMs);
    }
    if (x === undefined) return;
    if (ttft >= 0 && ttft <= MAX_TTFT_MS) this.#ttft.learn(x, ttft);
    const tpot = derived.tpotMs;
    if (tpot !== undefined && tpot >= 0 && tpot <= MAX_TPOT_MS) this.#tpot.learn(x, tpot);
  }

  #model(kind: LatencyKind): OnlineLinear {
    return kind === 'ttft' ? this.#ttft : this.#tpot;
  }
}

function newModel(): OnlineLinear {
  return new OnlineLinear(FEATURE_COUNT, FORGETTING);
}

function clamp(ms: number, kind: LatencyKind): number {
  const max = kind === 'ttft' ? MAX_TTFT_MS : MAX_TPOT_MS;
  return Number.isFinite(ms) ? Math.min(max, Math.max(0, ms)) : max;
}
