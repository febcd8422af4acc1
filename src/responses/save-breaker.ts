import type { Clock } from '../clock.js';

/**
 * Whether a response is worth trying to store now. Storing waits up to `saveTimeoutMs` before
 * the answer goes out; with the database down, every answer would wait that long. So after a
 * failed save, saves are skipped (the answer goes out at once, unstored) for `cooldownMs`; then
 * one save is tried again (the others still skip while it runs), and its outcome decides.
 */
export class SaveBreaker {
  #skipUntilMs = 0;

  constructor(
    private readonly clock: Pick<Clock, 'nowMs'>,
    private readonly cooldownMs: number,
  ) {}

  /** True: try this save. False: skip it. Past a cooldown, the first caller is the probe. */
  tryNow(): boolean {
    const now = this.clock.nowMs();
    if (now < this.#skipUntilMs) return false;
    // While the probe runs (after a failure), everyone else skips; a success reopens at once.
    if (this.#skipUntilMs !== 0) this.#skipUntilMs = now + this.cooldownMs;
    return true;
  }

  succeeded(): void {
    this.#skipUntilMs = 0;
  }

  failed(): void {
    this.#skipUntilMs = this.clock.nowMs() + this.cooldownMs;
  }
}
