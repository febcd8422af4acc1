import type { AttemptOutcome } from '../observability/events.js';
import { OnlineLinear } from './online-linear.js';

/**
 * What one target's finished attempts say about its speed, for the latency- and load-aware
 * strategies and for hedging. Time to first token (TTFT) and time per output token (TPOT) are
 * kept apart, so a request that generates a long answer does not make its deployment look slow
 * to the next one: streams measure both directly; a JSON answer's duration is split with a
 * per-target fit of duration ≈ TTFT + TPOT × (output tokens − 1).
 *
 * Averages decay with time, not per sample (τ below), so their memory is the same at 1 and at
 * 1,000 requests a second.
 */

/** Time constant of the averages, ms: a sample 10 s old weighs e⁻¹ of a new one. */
export const DECAY_TAU_MS = 10_000;
/** TTFT samples kept for the p95 (hedging's threshold). */
const TTFT_WINDOW = 128;

/** The load a target saw when an attempt started (features of the latency model), captured only when a strategy listens. */
export interface AttemptFeatures {
  /** Prompt tokens (estimate). */
  readonly inputTokens: number;
  /** Leading prompt blocks the deployment was recently sent (DeploymentLoad.prefixMatch), 0..1 of the prompt's blocks; 0 when not computed. */
  readonly prefixHit: number;
  /** Attempts in flight on the deployment from this replica, this one excluded. */
  readonly inFlight: number;
  /** Their tokens (prompt + output reserve). */
  readonly inFlightTokens: number;
  /** The server's own queue (scraped), undefined when not scraped or stale. */
  readonly waiting: number | undefined;
  /** The server's KV-cache use 0..1 (scraped), undefined when not scraped or stale. */
  readonly kvCacheUsage: number | undefined;
}

/** One finished attempt, as the attempt tells its target. */
export interface AttemptSample {
  /** Monotonic ms when the attempt ended. */
  readonly endMs: number;
  readonly outcome: AttemptOutcome;
  readonly stream: boolean;
  /** Start to end (a stream: to its last chunk or failure). */
  readonly durationMs: number;
  /** Streams: start to the commit point (the first chunk with content). */
  readonly ttftMs?: number | undefined;
  /** Output tokens the upstream reported (or we estimated), when known. */
  readonly outputTokens?: number | undefined;
  /** Present when a listener asked for features (TargetStats.wantsFeatures). */
  readonly features?: AttemptFeatures | undefined;
  /** True for operations that generate tokens (chat, completions), false for embeddings. */
  readonly generates?: boolean | undefined;
  /**
   * A stream stopped before its first content because another attempt of the request answered
   * first (a hedge's loser): its TTFT is at least its duration. Learned only when that is slower
   * than the average, else it says nothing; without it a deployment that always loses its races
   * would keep the figures that made it look fast.
   */
  readonly ttftAtLeast?: boolean | undefined;
}

/** A sample with its TTFT and TPOT as derived here (a JSON answer's split). */
export interface DerivedLatency {
  readonly ttftMs: number | undefined;
  readonly tpotMs: number | undefined;
}

export type SampleListener = (sample: AttemptSample, derived: DerivedLatency) => void;

export class TargetStats {
  #ttft: number | undefined;
  #tpot: number | undefined;
  /** Peak-EWMA of TTFT (least_loaded): jumps to a slower sample at once, decays towards faster ones. */
  #peak: number | undefined;
  #peakAtMs = 0;
  #lastMs: number | undefined;
  #errorRate = 0;
  readonly #jsonFit = new OnlineLinear(2, 0.98);
  /** Running mean and mean square of JSON answers' output tokens − 1: is the fit identifiable? */
  #outMean = 0;
  #outSquare = 0;
  readonly #window = new Float64Array(TTFT_WINDOW);
  #windowCount = 0;
  #p95: number | undefined;
  #p95Stale = true;
  readonly #listeners: SampleListener[] = [];

  /** Whether attempts should capture AttemptFeatures (a listener wants them). */
  get wantsFeatures(): boolean {
    return this.#listeners.length > 0;
  }

  /** Called with every sample from now on (the predicted-latency model trains on them). */
  listen(listener: SampleListener): void {
    this.#listeners.push(listener);
  }

  /** Decayed average TTFT in ms (JSON answers: their split TTFT), undefined before the first sample. */
  get ttftMs(): number | undefined {
    return this.#ttft;
  }

  /** Decayed average TPOT in ms, undefined before a sample with more than one output token. */
  get tpotMs(): number | undefined {
    return this.#tpot;
  }

  /** Monotonic ms of the last latency sample, undefined before the first. */
  get lastSampleMs(): number | undefined {
    return this.#lastMs;
  }

  /** Decayed share of recent attempts that failed on the upstream's side (5xx, timeouts, resets, 429s), 0..1. */
  get errorRate(): number {
    return this.#errorRate;
  }

  /**
   * The peak-EWMA TTFT as of `nowMs`: the highest recent sample, decaying towards the average
   * while no slower one comes (Finagle's and Linkerd's load-balancer cost). Undefined before a sample.
   */
  peakMs(nowMs: number): number | undefined {
    const peak = this.#peak;
    if (peak === undefined || this.#ttft === undefined) return peak;
    const w = Math.exp(-Math.max(0, nowMs - this.#peakAtMs) / DECAY_TAU_MS);
    return this.#ttft + (peak - this.#ttft) * w;
  }

  /** The p95 of the last 128 TTFT samples (nearest rank), undefined before the first. */
  ttftP95(): number | undefined {
    if (this.#windowCount === 0) return undefined;
    if (this.#p95Stale) {
      const n = Math.min(this.#windowCount, TTFT_WINDOW);
      const sorted = this.#window.slice(0, n).sort();
      this.#p95 = sorted[Math.min(n - 1, Math.ceil(0.95 * n) - 1)];
      this.#p95Stale = false;
    }
    return this.#p95;
  }

  /** Learns from one finished attempt. Never throws. */
  observe(s: AttemptSample): void {
    const failed = upstreamFault(s.outcome);
    const dt = this.#lastMs === undefined ? Infinity : Math.max(0, s.endMs - this.#lastMs);
    const alpha = 1 - Math.exp(-dt / DECAY_TAU_MS);
    if (s.outcome !== 'client_error' && s.outcome !== 'aborted') this.#errorRate += (Math.max(alpha, 0.05)) * ((failed ? 1 : 0) - this.#errorRate);
    const derived = this.#derive(s);
    const ttft = derived.ttftMs;
    if (ttft !== undefined) {
      // At least a 5 % weight per sample: under a trickle of traffic the average still follows
      // each sample, and under a flood it is still a time average.
      const a = Math.max(alpha, 0.05);
      this.#ttft = this.#ttft === undefined ? ttft : this.#ttft + a * (ttft - this.#ttft);
      const peak = this.peakMs(s.endMs);
      if (peak === undefined || ttft >= peak) this.#peak = ttft;
      else this.#peak = peak;
      this.#peakAtMs = s.endMs;
      this.#window[this.#windowCount % TTFT_WINDOW] = ttft;
      this.#windowCount++;
      this.#p95Stale = true;
      this.#lastMs = s.endMs;
    }
    if (derived.tpotMs !== undefined) {
      const a = Math.max(alpha, 0.05);
      this.#tpot = this.#tpot === undefined ? derived.tpotMs : this.#tpot + a * (derived.tpotMs - this.#tpot);
    }
    for (const l of this.#listeners) l(s, derived);
  }

  /**
   * TTFT and TPOT of one sample. Streams: measured. JSON (after MIN_FIT_SAMPLES answers of
   * more than one token, which give none): TPOT from the per-target fit when the answers' lengths
   * vary enough to identify it, else the streams' average; TTFT is the rest; neither known: the
   * whole duration. A one-token answer's duration is its TTFT. A
   * timed-out attempt counts its duration as a TTFT (a lower bound: it was at least that slow).
   */
  #derive(s: AttemptSample): DerivedLatency {
    if (s.outcome === 'timeout') return { ttftMs: s.ttftMs ?? s.durationMs, tpotMs: undefined };
    if (s.ttftAtLeast === true) return { ttftMs: s.stream && s.durationMs > (this.#ttft ?? 0) ? s.durationMs : undefined, tpotMs: undefined };
    if (s.outcome !== 'success' || !(s.durationMs >= 0)) return { ttftMs: undefined, tpotMs: undefined };
    const out = tokenCount(s.outputTokens);
    // An answer that generated nothing says nothing of how fast the deployment generates, and
    // one that always answers empty at once (broken or hostile) must not look fastest.
    if (out === 0 && s.generates === true) return { ttftMs: undefined, tpotMs: undefined };
    if (s.stream) {
      const ttft = s.ttftMs;
      const tpot = ttft !== undefined && out !== undefined && out > 1 ? Math.max(0, s.durationMs - ttft) / (out - 1) : undefined;
      return { ttftMs: ttft, tpotMs: tpot };
    }
    if (out === undefined || out <= 1) return { ttftMs: s.durationMs, tpotMs: undefined };
    const x = out - 1;
    this.#jsonFit.learn([1, x], s.durationMs);
    const n = this.#jsonFit.samples;
    const a = Math.max(1 / n, 0.05);
    this.#outMean += a * (x - this.#outMean);
    this.#outSquare += a * (x * x - this.#outSquare);
    if (n < MIN_FIT_SAMPLES) return { ttftMs: undefined, tpotMs: undefined };
    // Answers all of about one length cannot tell a fixed cost from a per-token one: then the
    // streams' TPOT splits them if known, else the whole duration is the sample (as
    // least_latency always compared), which is fair between targets serving the same requests.
    const spread = Math.sqrt(Math.max(0, this.#outSquare - this.#outMean * this.#outMean));
    const w = spread >= 0.2 * this.#outMean ? this.#jsonFit.weight(1) : undefined;
    const fitted = w !== undefined && w > 0 ? w : undefined;
    const tpot = fitted ?? this.#tpot;
    if (tpot === undefined) return { ttftMs: s.durationMs, tpotMs: undefined };
    return { ttftMs: Math.max(0, s.durationMs - tpot * x), tpotMs: fitted };
  }
}

/**
 * Output tokens as reported by the upstream (attempts see them before the gateway's usage check,
 * pipeline/sane-usage.ts), when a count one request can have: an absurd one (1e200) would read as
 * decoding for free and overflow the JSON fit's moments to NaN for good. Same bound as that check.
 */
function tokenCount(n: number | undefined): number | undefined {
  return n !== undefined && Number.isSafeInteger(n) && n >= 0 && n <= MAX_OUTPUT_TOKENS ? n : undefined;
}
const MAX_OUTPUT_TOKENS = 10_000_000;

/** JSON answers learned before their durations are split (the first ones give no TTFT sample). */
const MIN_FIT_SAMPLES = 4;

/** Outcomes that say the deployment is unwell (not the client's doing, not our abort). */
function upstreamFault(o: AttemptOutcome): boolean {
  return o === 'server_error' || o === 'timeout' || o === 'reset' || o === 'connect_error' || o === 'protocol_error' || o === 'rate_limited';
}
