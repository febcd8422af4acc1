import { GatewayError } from '../../errors/gateway-error.js';
import type { Balancer, BalancerContext, LoadCandidate } from '../balancer.js';
import { FEATURE_COUNT, LatencyModel, STALE_AFTER_MS, writeAttemptFeatures, writePickFeatures } from '../latency-model.js';
import type { RouteRequest } from '../route-request.js';
import { DECAY_TAU_MS, type AttemptSample, type DerivedLatency, type TargetStats } from '../target-stats.js';

/**
 * predicted_latency: for each candidate, predicts this request's TTFT and TPOT from the load it
 * would find there (latency-model.ts), and sends it to the best predicted end-to-end time
 * (TTFT + TPOT × (expected output tokens − 1)) or, when the request states an SLO, to the best of
 * the deployments predicted to meet it with headroom (else the least bad one, or a 503
 * slo_unattainable when the alias sheds). llm-d's predicted-latency scheduler, in-process and for
 * deployments that need not be alike.
 *
 * Exploration, so a deployment predicted slow once is not avoided for ever:
 * - a trial: a target with no latency sample for STALE_AFTER_MS (or never measured) gets the next
 *   request without an SLO, once per window, whatever its prediction (its stale model is then
 *   dropped: latency-model.ts), so a recovered deployment is measured again within that window;
 *   a request with an SLO takes a trial only for a target never measured, or when no request
 *   without one came for a window;
 * - ε-greedy: EXPLORE_EPSILON of requests without an SLO go to a uniformly drawn candidate, which
 *   keeps every model fed with samples at other loads than the one greedy routing gives it.
 *   Requests with an SLO are not drawn: a random deployment would spend their objective.
 */

/** Share of requests without an SLO routed to a random candidate. */
export const EXPLORE_EPSILON = 0.05;
/** Candidates predicted within this share of the best end-to-end count as equally good (the less loaded wins). */
export const NEAR_BEST = 0.1;
/** A deployment meets an objective when its prediction × (1 + this) is within it: predictions err, so a 20 % margin. */
export const SLO_HEADROOM = 0.2;

export class PredictedLatencyBalancer implements Balancer {
  readonly #ctx: BalancerContext;
  readonly #random: () => number;
  /** Per target (keyed by its stats, one per target; a reload makes new ones), its model. */
  readonly #models = new WeakMap<TargetStats, LatencyModel>();
  /** Scratch feature vectors: pick's and the listeners' (never reallocated). */
  readonly #x = new Float64Array(FEATURE_COUNT);
  readonly #sampleX = new Float64Array(FEATURE_COUNT);
  /** Per-candidate predictions of the current pick, grown to the largest candidate list seen. */
  #ttft = new Float64Array(8);
  #tpot = new Float64Array(8);
  #e2e = new Float64Array(8);
  /** Decayed average of the output tokens this alias's answers had (undefined before one). */
  #outputTokens: number | undefined;
  #outputAtMs = 0;
  /** Monotonic ms of the last request without an SLO (trials prefer those). */
  #lastWithoutSloMs = -Infinity;

  constructor(context: BalancerContext, random: () => number = Math.random) {
    this.#ctx = context;
    this.#random = random;
  }

  pick<T extends LoadCandidate>(candidates: readonly T[], request?: RouteRequest): T | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    const now = this.#ctx.clock.nowMs();
    const slo = request?.slo;
    if (slo === undefined) this.#lastWithoutSloMs = now;
    // Subscribe to new targets, and give a target due for a trial its trial: a request without an
    // SLO takes it, or one with an SLO when the target was never measured or no request without
    // one came for a whole window (an alias whose every request states an SLO).
    const sloMayTry = slo === undefined || now - this.#lastWithoutSloMs >= STALE_AFTER_MS;
    for (const c of candidates) {
      const model = this.#model(c);
      const last = Math.max(model.lastSampleMs ?? -Infinity, model.lastTrialMs ?? -Infinity);
      if (now - last >= STALE_AFTER_MS && (sloMayTry || model.lastSampleMs === undefined)) {
        model.lastTrialMs = now;
        return c;
      }
    }
    if (slo === undefined && n > 1 && this.#random() < EXPLORE_EPSILON) return candidates[Math.min(n - 1, Math.floor(this.#random() * n))];

    if (this.#ttft.length < n) {
      this.#ttft = new Float64Array(n);
      this.#tpot = new Float64Array(n);
      this.#e2e = new Float64Array(n);
    }
    const ttft = this.#ttft;
    const tpot = this.#tpot;
    const x = this.#x;
    // Features as the attempt will record them (attempt.ts begin): the prompt's blocks are hashed
    // once per request, and only here, since prefix hit is a feature.
    const blocks = request !== undefined && request.promptTokens > 0 ? request.prefixBlocks() : undefined;
    let worstTpot = -Infinity;
    for (let i = 0; i < n; i++) {
      const c = candidates[i]!;
      const model = this.#model(c);
      const load = c.load;
      const scraped = load.fresh(now);
      const prefixHit = blocks !== undefined && blocks.length > 0 ? load.prefixMatch(blocks) / blocks.length : 0;
      const ok = writePickFeatures(x, request?.promptTokens ?? 0, prefixHit, load.inFlight, load.inFlightTokens, scraped?.waiting, scraped?.kvCacheUsage);
      ttft[i] = (ok ? model.predict('ttft', x) : model.stats.ttftMs) ?? NaN;
      tpot[i] = (ok ? model.predict('tpot', x) : model.stats.tpotMs) ?? NaN;
      if (tpot[i]! > worstTpot) worstTpot = tpot[i]!;
    }
    // A target with a TTFT but no TPOT yet (short or JSON answers) is assumed as slow to decode
    // as the slowest known, so that not knowing never wins; with none known, decode does not count.
    const unknownTpot = worstTpot === -Infinity ? 0 : worstTpot;
    const decodeTokens = Math.max(0, this.#expectedOutputTokens(request) - 1);

    let bestMs = Infinity;
    let leastBad = -1;
    let leastBadRatio = Infinity;
    const e2e = this.#e2e;
    for (let i = 0; i < n; i++) {
      const t = ttft[i]!;
      e2e[i] = NaN;
      // Not measured and its trial still out: not comparable.
      if (Number.isNaN(t)) continue;
      const d = Number.isNaN(tpot[i]!) ? unknownTpot : tpot[i]!;
      if (slo !== undefined) {
        const ratio = Math.max(slo.ttftMs !== undefined ? t / slo.ttftMs : 0, slo.tpotMs !== undefined ? d / slo.tpotMs : 0);
        if (ratio < leastBadRatio) {
          leastBadRatio = ratio;
          leastBad = i;
        }
        if (ratio * (1 + SLO_HEADROOM) > 1) continue;
      }
      e2e[i] = t + d * decodeTokens;
      if (e2e[i]! < bestMs) bestMs = e2e[i]!;
    }
    // Predictions err and feedback lags (an answer tells of the load it found seconds ago): among
    // the candidates predicted within NEAR_BEST of the best, the one with the fewest tokens in
    // flight gets the request, so deployments predicted alike share a burst instead of the
    // marginally best taking all of it until its answers come back.
    let best = -1;
    for (let i = 0; i < n; i++) {
      const v = e2e[i]!;
      if (Number.isNaN(v) || v > bestMs * (1 + NEAR_BEST)) continue;
      if (best < 0 || candidates[i]!.load.inFlightTokens < candidates[best]!.load.inFlightTokens || (candidates[i]!.load.inFlightTokens === candidates[best]!.load.inFlightTokens && v < e2e[best]!)) best = i;
    }
    if (best >= 0) return candidates[best];
    // Nothing comparable (every target's first trial still out): spread at random.
    if (leastBad < 0) return candidates[Math.min(n - 1, Math.floor(this.#random() * n))];
    if (this.#ctx.onSloMiss === 'shed') {
      this.#ctx.events.sloShed({ alias: this.#ctx.alias });
      throw new GatewayError('slo_unattainable', `No deployment of model ${this.#ctx.alias} is predicted to meet the request's latency objectives.`, { retryAfterMs: 1000 });
    }
    return candidates[leastBad];
  }

  /**
   * Output tokens to expect: the request's reserve is an upper bound (max_tokens, or the alias's
   * default reserve when the client set none), and most answers stop well short of it, so
   * multiplying TPOT by it would overweight decode against TTFT; the decayed average of this
   * alias's answers is the typical length, but never more than the request allows.
   */
  #expectedOutputTokens(request: RouteRequest | undefined): number {
    const reserve = request?.outputTokens;
    const typical = this.#outputTokens;
    if (reserve === undefined) return typical ?? 1;
    return typical === undefined ? reserve : Math.min(reserve, typical);
  }

  /** The model of `c`'s target, made and subscribed to its samples the first time it is seen. */
  #model(c: LoadCandidate): LatencyModel {
    const known = this.#models.get(c.stats);
    if (known !== undefined) return known;
    const model = new LatencyModel(c.stats);
    const deployment = c.deploymentName;
    c.stats.listen((s, derived) => this.#learn(model, deployment, s, derived));
    this.#models.set(c.stats, model);
    return model;
  }

  /**
   * One finished attempt: reports what the model would have predicted for it (its own features,
   * before learning it: the prediction error), then learns it. Only a ready model's predictions
   * are reported; a young model's stand-in, the decayed average, already holds this sample.
   */
  #learn(model: LatencyModel, deployment: string, s: AttemptSample, derived: DerivedLatency): void {
    if (s.outcome === 'success' && s.outputTokens !== undefined) this.#observeOutput(s.outputTokens, s.endMs);
    const x = this.#sampleX;
    const usable = s.features !== undefined && writeAttemptFeatures(x, s.features);
    if (usable) {
      const { alias, events } = this.#ctx;
      if (derived.ttftMs !== undefined) {
        const predictedMs = model.fitted('ttft', x);
        if (predictedMs !== undefined && derived.ttftMs > 0) events.routingPrediction({ alias, deployment, kind: 'ttft', predictedMs, observedMs: derived.ttftMs });
      }
      if (derived.tpotMs !== undefined) {
        const predictedMs = model.fitted('tpot', x);
        if (predictedMs !== undefined && derived.tpotMs > 0) events.routingPrediction({ alias, deployment, kind: 'tpot', predictedMs, observedMs: derived.tpotMs });
      }
    }
    model.learn(usable ? x : undefined, derived, s.endMs);
  }

  /** Time-decayed like TargetStats (τ = 10 s, at least 5 % a sample). */
  #observeOutput(tokens: number, endMs: number): void {
    if (!(tokens >= 1 && tokens <= 10_000_000) || !Number.isFinite(endMs)) return;
    const prev = this.#outputTokens;
    if (prev === undefined) {
      this.#outputTokens = tokens;
    } else {
      const a = Math.max(0.05, 1 - Math.exp(-Math.max(0, endMs - this.#outputAtMs) / DECAY_TAU_MS));
      this.#outputTokens = prev + a * (tokens - prev);
    }
    this.#outputAtMs = endMs;
  }
}
