import type { Engine } from './engine.js';

/**
 * Drives an Engine in real time: one step after another while there is work, each ending when
 * its duration has passed. Timers fire late and at a millisecond grain, so steps are scheduled
 * against a running deadline (the sum of durations) rather than one by one: over many short
 * steps the engine keeps its simulated pace. If it falls more than LAG_RESET_MS behind (a busy
 * machine), it restarts from now instead of racing to catch up.
 */
const LAG_RESET_MS = 20;

export class EngineLoop {
  readonly #engine: Engine;
  readonly #now: () => number;
  #timer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  #due = 0;
  #closed = false;

  constructor(engine: Engine, now: () => number = () => performance.now()) {
    this.#engine = engine;
    this.#now = now;
  }

  /** Starts stepping if idle (call after a submission). */
  kick(): void {
    if (this.#timer === undefined && !this.#engine.stepping && !this.#closed) this.#step(this.#now());
  }

  close(): void {
    this.#closed = true;
    if (this.#timer !== undefined) {
      clearTimeout(this.#timer as NodeJS.Timeout);
      clearImmediate(this.#timer as NodeJS.Immediate);
      this.#timer = undefined;
    }
  }

  /** Starts a step at `startMs`: now after idling, the previous step's deadline when chained. */
  #step(startMs: number): void {
    const duration = this.#engine.beginStep();
    if (duration === undefined) return;
    this.#due = startMs + duration;
    const delay = this.#due - this.#now();
    const end = (): void => {
      this.#timer = undefined;
      this.#engine.endStep();
      const now = this.#now();
      if (!this.#closed) this.#step(this.#due < now - LAG_RESET_MS ? now : this.#due);
    };
    // setTimeout cannot wait less than 1 ms; a shorter step ends on the next turn of the loop.
    this.#timer = delay >= 1 ? setTimeout(end, delay) : setImmediate(end);
  }
}
