/**
 * Deployment cooldowns after a provider 429: how long each deployment is skipped. The executor
 * reads them synchronously on every pick, so every implementation keeps a local mirror; the
 * Redis one (state/redis-cooldowns.ts) also shares each cooldown with every other replica.
 * Circuit breakers, unlike cooldowns, stay local to each replica.
 */
import type { Clock } from '../clock.js';
import { defaultMaxCooldownMs } from '../config/schema.js';

export interface Cooldowns {
  /** Monotonic ms until which `deployment` is skipped; ≤ now means it is not cooling down. */
  untilMs(deployment: string): number;
  /**
   * The provider said "retry after `ms`": skip `deployment` that long, at most `maxCooldownMs`
   * (never shortens one; NaN or ≤ 0 starts none).
   */
  start(deployment: string, ms: number): void;
}

export class MemoryCooldowns implements Cooldowns {
  readonly #until = new Map<string, number>();

  /** `maxCooldownMs`: `retry.maxCooldownMs`, the longest cooldown any source can set. */
  constructor(
    protected readonly clock: Clock,
    protected readonly maxCooldownMs: number = defaultMaxCooldownMs,
  ) {}

  untilMs(deployment: string): number {
    return this.#until.get(deployment) ?? 0;
  }

  start(deployment: string, ms: number): void {
    this.extend(deployment, ms);
  }

  /** Sets the local mirror only (what a cooldown heard from another replica does); capped like `start`. */
  protected extend(deployment: string, ms: number): void {
    if (!(ms > 0)) return;
    const until = this.clock.nowMs() + Math.min(ms, this.maxCooldownMs);
    if (until > this.untilMs(deployment)) this.#until.set(deployment, until);
  }
}
