/**
 * Online linear regression by recursive least squares with a forgetting factor: y ≈ w·x, updated
 * one sample at a time in O(k²) with no stored samples, old samples weighing λ^age. It is the
 * standard estimator for a model that must track a drifting system (adaptive filters, online
 * system identification), which is what a server's latency under changing load is.
 */
export class OnlineLinear {
  readonly #k: number;
  readonly #lambda: number;
  readonly #w: Float64Array;
  /** The inverse correlation matrix P, row-major k×k. */
  readonly #p: Float64Array;
  readonly #px: Float64Array;
  #samples = 0;

  /**
   * `features`: k, the length of every x (include a constant 1 for an intercept). `forgetting`:
   * λ in (0, 1]; the effective memory is about 1 / (1 − λ) samples. `prior`: initial weights
   * (default zeros), believed with `confidence` (P₀ = I / confidence: small means learn fast).
   */
  constructor(features: number, forgetting = 0.99, prior?: readonly number[], confidence = 1e-3) {
    if (!(Number.isInteger(features) && features >= 1 && features <= 16)) throw new RangeError(`features must be an integer in [1, 16], got ${features}`);
    if (!(forgetting > 0 && forgetting <= 1)) throw new RangeError(`forgetting must be in (0, 1], got ${forgetting}`);
    this.#k = features;
    this.#lambda = forgetting;
    this.#w = new Float64Array(features);
    if (prior) for (let i = 0; i < features; i++) this.#w[i] = prior[i] ?? 0;
    this.#p = new Float64Array(features * features);
    for (let i = 0; i < features; i++) this.#p[i * features + i] = 1 / confidence;
    this.#px = new Float64Array(features);
  }

  /** Samples learned so far. */
  get samples(): number {
    return this.#samples;
  }

  /** w·x. */
  predict(x: ArrayLike<number>): number {
    return this.partial(x, 0, this.#k);
  }

  /** The part of w·x from features `from` (inclusive) to `to` (exclusive). */
  partial(x: ArrayLike<number>, from: number, to: number): number {
    let y = 0;
    for (let i = Math.max(0, from); i < Math.min(to, this.#k); i++) y += this.#w[i]! * (x[i] ?? 0);
    return y;
  }

  /** The current weights (a copy). */
  weights(): number[] {
    return Array.from(this.#w);
  }

  /** Weight `i` (0 beyond the features). */
  weight(i: number): number {
    return this.#w[i] ?? 0;
  }

  /**
   * Learns one sample. Non-finite inputs are ignored (never poison the model); so is an update
   * that would make P non-finite or non-positive (a degenerate x), which then resets P to its prior.
   */
  learn(x: ArrayLike<number>, y: number): void {
    const k = this.#k;
    if (!Number.isFinite(y)) return;
    for (let i = 0; i < k; i++) if (!Number.isFinite(x[i] ?? 0)) return;
    const p = this.#p;
    const px = this.#px;
    // px = P x; denominator = λ + xᵀ P x
    let denom = this.#lambda;
    for (let i = 0; i < k; i++) {
      let s = 0;
      for (let j = 0; j < k; j++) s += p[i * k + j]! * (x[j] ?? 0);
      px[i] = s;
      denom += (x[i] ?? 0) * s;
    }
    if (!(denom > 0) || !Number.isFinite(denom)) return this.#resetP();
    const error = y - this.predict(x);
    // w += (P x / denom) · error; P = (P − P x xᵀ P / denom) / λ (P symmetric, so xᵀP = (Px)ᵀ)
    for (let i = 0; i < k; i++) this.#w[i]! += (px[i]! / denom) * error;
    for (let i = 0; i < k; i++) {
      for (let j = 0; j < k; j++) p[i * k + j] = (p[i * k + j]! - (px[i]! * px[j]!) / denom) / this.#lambda;
    }
    // Without fresh excitation in some direction, 1/λ grows P there without bound (wind-up):
    // capped so one unusual sample cannot swing the weights wildly.
    for (let i = 0; i < k; i++) {
      const d = p[i * k + i]!;
      if (!Number.isFinite(d) || d <= 0) return this.#resetP();
      if (d <= MAX_DIAGONAL) continue;
      // Row i and column i scaled by √(M/d): the diagonal becomes M and P stays symmetric.
      const f = Math.sqrt(MAX_DIAGONAL / d);
      for (let j = 0; j < k; j++) {
        p[i * k + j]! *= f;
        p[j * k + i]! *= f;
      }
    }
    for (let i = 0; i < k; i++) if (!Number.isFinite(this.#w[i]!)) this.#w[i] = 0;
    this.#samples++;
  }

  #resetP(): void {
    this.#p.fill(0);
    for (let i = 0; i < this.#k; i++) this.#p[i * this.#k + i] = 1e3;
  }
}

/** The largest variance P may hold in one direction (see learn: wind-up). */
const MAX_DIAGONAL = 1e6;
