/**
 * A per-deployment circuit breaker, local to one process (docs/configuration.md,
 * `circuitBreaker`). It owns no timers: every read advances the state from the injected clock, so
 * nothing keeps the event loop alive, nothing leaks when a deployment is removed, and fake
 * clocks drive it exactly.
 */
import type { Clock } from '../clock.js';

export type BreakerState = 'closed' | 'open' | 'half_open';

export interface BreakerOptions {
  /** Consecutive failures (integer ≥ 1) that open a closed breaker. */
  readonly failureThreshold: number;
  /** First open period in ms (> 0); grows × consecutive openings. */
  readonly openMs: number;
  /** Cap in ms (≥ openMs) on the grown open period, before jitter. */
  readonly maxOpenMs: number;
  /** ± fraction in [0, 1) applied to each open period. */
  readonly jitterRatio: number;
  /** Probes (integer 1..3) admitted per half-open period; all must succeed to close. */
  readonly halfOpenProbes: number;
  /** A probe unsettled after this many ms (> 0) counts as failed. */
  readonly probeTimeoutMs: number;
}

/** Reliability guide §4. */
export const defaultBreakerOptions: BreakerOptions = {
  failureThreshold: 3,
  openMs: 30_000,
  maxOpenMs: 300_000,
  jitterRatio: 0.2,
  halfOpenProbes: 1,
  probeTimeoutMs: 30_000,
};

export interface BreakerTransition {
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** Short, fixed-vocabulary reason, safe for logs. */
  readonly reason: string;
}

/**
 * The right to make one call. Exactly one of the three methods takes effect; later calls are
 * no-ops. `release()` means the outcome says nothing about the deployment's health (client
 * disconnect, 4xx, 429) and gives a half-open probe slot back.
 */
export interface BreakerPermit {
  success(): void;
  failure(): void;
  release(): void;
}

type Outcome = 'success' | 'failure' | 'release';

/**
 * Closed → open after `failureThreshold` consecutive failures; open → half-open when the
 * jittered open period has passed; half-open → closed when `halfOpenProbes` probes succeed,
 * → open on any probe failure or timeout. Constructor throws RangeError on invalid options.
 * `onTransition` is called synchronously after each state change and must not throw.
 */
export class CircuitBreaker {
  readonly #options: BreakerOptions;
  readonly #clock: Clock;
  readonly #onTransition: ((transition: BreakerTransition) => void) | undefined;
  readonly #random: () => number;
  #state: BreakerState = 'closed';
  // Bumped on every transition; a permit from an older generation settles as a no-op, so a
  // slow call admitted while closed cannot count as a probe (or re-open a fresh breaker).
  #generation = 0;
  #consecutiveFailures = 0;
  #consecutiveOpenings = 0;
  #openUntilMs = 0;
  readonly #probeStartedAtMs = new Map<number, number>();
  #probesSucceeded = 0;
  #nextProbeId = 0;

  constructor(
    options: BreakerOptions,
    clock: Clock,
    onTransition?: (transition: BreakerTransition) => void,
    random: () => number = Math.random,
  ) {
    validateBreakerOptions(options);
    this.#options = options;
    this.#clock = clock;
    this.#onTransition = onTransition;
    this.#random = random;
  }

  /** The current state, after applying any elapsed open period or expired probe. */
  get state(): BreakerState {
    this.#advance();
    return this.#state;
  }

  /** A permit if a call may go ahead now, else undefined (open, or every probe slot taken). */
  tryAcquire(): BreakerPermit | undefined {
    this.#advance();
    switch (this.#state) {
      case 'closed':
        return this.#permit(undefined);
      case 'open':
        return undefined;
      case 'half_open': {
        if (this.#probeSlotsUsed() >= this.#options.halfOpenProbes) return undefined;
        const probeId = this.#nextProbeId++;
        this.#probeStartedAtMs.set(probeId, this.#clock.nowMs());
        return this.#permit(probeId);
      }
    }
  }

  /**
   * Whole ms until tryAcquire could next succeed: 0 if it would now; while open, the rest of
   * the open period; while half-open with every slot taken, the time until the oldest probe
   * times out (the latest moment the state must change).
   */
  retryAfterMs(): number {
    this.#advance();
    const now = this.#clock.nowMs();
    switch (this.#state) {
      case 'closed':
        return 0;
      case 'open':
        return Math.max(0, Math.ceil(this.#openUntilMs - now));
      case 'half_open': {
        if (this.#probeSlotsUsed() < this.#options.halfOpenProbes) return 0;
        const deadlineMs = this.#oldestProbeStartMs() + this.#options.probeTimeoutMs;
        return Math.max(0, Math.ceil(deadlineMs - now));
      }
    }
  }

  /**
   * Opens now on one decisive event (a connection found dead), without waiting for
   * `failureThreshold` calls to fail one by one. No-op while already open.
   */
  trip(reason: string): void {
    this.#advance();
    if (this.#state !== 'open') this.#open(reason);
  }

  #permit(probeId: number | undefined): BreakerPermit {
    const generation = this.#generation;
    let settled = false;
    const settle = (outcome: Outcome): void => {
      if (settled) return;
      settled = true;
      this.#settle(generation, probeId, outcome);
    };
    return {
      success: () => settle('success'),
      failure: () => settle('failure'),
      release: () => settle('release'),
    };
  }

  #settle(generation: number, probeId: number | undefined, outcome: Outcome): void {
    // Advance first: a probe settling after its timeout has already re-opened the breaker and
    // is therefore stale, however it ended.
    this.#advance();
    if (generation !== this.#generation) return;
    if (probeId === undefined) this.#settleClosed(outcome);
    else this.#settleProbe(probeId, outcome);
  }

  #settleClosed(outcome: Outcome): void {
    if (outcome === 'success') {
      this.#consecutiveFailures = 0;
    } else if (outcome === 'failure') {
      this.#consecutiveFailures += 1;
      if (this.#consecutiveFailures >= this.#options.failureThreshold) {
        this.#open(`${this.#consecutiveFailures} consecutive failures`);
      }
    }
  }

  #settleProbe(probeId: number, outcome: Outcome): void {
    if (!this.#probeStartedAtMs.delete(probeId)) return;
    if (outcome === 'failure') {
      this.#open('probe failed');
    } else if (outcome === 'success') {
      this.#probesSucceeded += 1;
      if (this.#probesSucceeded >= this.#options.halfOpenProbes) {
        this.#transition('closed', 'probes succeeded');
      }
    }
  }

  #advance(): void {
    const now = this.#clock.nowMs();
    if (this.#state === 'open' && now >= this.#openUntilMs) {
      this.#transition('half_open', 'open period elapsed');
    }
    if (
      this.#state === 'half_open' &&
      this.#probeStartedAtMs.size > 0 &&
      now - this.#oldestProbeStartMs() >= this.#options.probeTimeoutMs
    ) {
      this.#open('probe timed out');
    }
  }

  #open(reason: string): void {
    const { openMs, maxOpenMs, jitterRatio } = this.#options;
    this.#consecutiveOpenings += 1;
    const baseMs = Math.min(maxOpenMs, openMs * this.#consecutiveOpenings);
    const jitter = jitterRatio * (2 * clampUnit(this.#random()) - 1);
    this.#openUntilMs = this.#clock.nowMs() + baseMs * (1 + jitter);
    this.#transition('open', reason);
  }

  #transition(to: BreakerState, reason: string): void {
    const from = this.#state;
    this.#state = to;
    this.#generation += 1;
    this.#consecutiveFailures = 0;
    this.#probeStartedAtMs.clear();
    this.#probesSucceeded = 0;
    if (to === 'closed') this.#consecutiveOpenings = 0;
    this.#onTransition?.({ from, to, reason });
  }

  // Successful probes keep their slot, so at most halfOpenProbes are admitted per half-open
  // period; release() is the only way a slot comes back.
  #probeSlotsUsed(): number {
    return this.#probeStartedAtMs.size + this.#probesSucceeded;
  }

  #oldestProbeStartMs(): number {
    let oldest = Infinity;
    for (const startedAt of this.#probeStartedAtMs.values()) oldest = Math.min(oldest, startedAt);
    return oldest;
  }
}

/** Throws RangeError naming the first invalid field of `options`; returns nothing otherwise. */
function validateBreakerOptions(options: BreakerOptions): void {
  const fail = (field: keyof BreakerOptions, rule: string): never => {
    throw new RangeError(`breaker ${field} must be ${rule}, got ${String(options[field])}`);
  };
  const { failureThreshold, openMs, maxOpenMs, jitterRatio, halfOpenProbes, probeTimeoutMs } =
    options;
  const positive = (value: number): boolean => Number.isFinite(value) && value > 0;
  if (!Number.isInteger(failureThreshold) || failureThreshold < 1) {
    fail('failureThreshold', 'an integer ≥ 1');
  }
  if (!positive(openMs)) fail('openMs', 'a finite number > 0');
  if (!(Number.isFinite(maxOpenMs) && maxOpenMs >= openMs)) fail('maxOpenMs', 'finite, ≥ openMs');
  if (!(jitterRatio >= 0 && jitterRatio < 1)) fail('jitterRatio', 'in [0, 1)');
  if (!Number.isInteger(halfOpenProbes) || halfOpenProbes < 1 || halfOpenProbes > 3) {
    fail('halfOpenProbes', 'an integer in 1..3');
  }
  if (!positive(probeTimeoutMs)) fail('probeTimeoutMs', 'a finite number > 0');
}

function clampUnit(value: number): number {
  if (!(value > 0)) return 0; // also catches NaN
  return value > 1 ? 1 : value;
}
