/**
 * Is the Redis connection alive? Judged by replies, not by how long any one command takes.
 *
 * On a busy machine Redis answers late (a round trip of 150 ms and more under a CPU hog, while
 * idle it is under a millisecond), and every command queued behind a late one is late too. A
 * per-command timeout then declares a healthy Redis dead and sends every process to its local
 * share (issue 9 §5). So the connection is judged as a whole: it is *stalled* when at least one
 * command is outstanding and no reply at all has arrived for `stallMs`.
 *
 * That time is measured on this process's event loop, not the wall clock: the watch ticks every
 * TICK_MS and credits each tick with at most TICK_MS (+ a little), so time the loop was blocked
 * or the process descheduled does not count (the replies were sitting in the socket unread).
 * And each tick first yields (setImmediate runs after the poll phase, which reads whatever the
 * socket holds) before it judges.
 */

// Timers are late by a millisecond or two on an idle loop; lateness below this still counts.
const LAG_TOLERANCE_MS = 2;

export interface LivenessWatchOptions {
  readonly stallMs: number;
  /** Called once per stall (again only after a reply, or after every command has settled). */
  readonly onStall: () => void;
}

export class LivenessWatch {
  readonly #stallMs: number;
  readonly #tickMs: number;
  readonly #onStall: () => void;
  #outstanding = 0;
  /** Loop time credited since the last reply (or since the first outstanding command went out). */
  #silentMs = 0;
  #lastTickAt = 0;
  #stalled = false;
  #timer: NodeJS.Timeout | undefined;

  constructor(options: LivenessWatchOptions) {
    this.#stallMs = options.stallMs;
    this.#tickMs = Math.max(5, Math.min(50, Math.floor(options.stallMs / 10)));
    this.#onStall = options.onStall;
  }

  /** Commands sent and not yet answered. */
  get outstanding(): number {
    return this.#outstanding;
  }

  /** A command went out; call the returned function exactly once when it settles (reply or error). */
  begin(): () => void {
    if (this.#outstanding++ === 0) this.#restart();
    let settled = false;
    return () => {
      if (settled) return;
      settled = true;
      this.#outstanding -= 1;
      this.#restart();
      if (this.#outstanding === 0) this.#stop();
    };
  }

  /** Stops watching (connection closed for good). */
  close(): void {
    this.#stop();
  }

  // A reply arrived (or the first command went out): the silence starts again.
  #restart(): void {
    this.#silentMs = 0;
    this.#stalled = false;
    this.#lastTickAt = performance.now();
    if (this.#timer === undefined && this.#outstanding > 0) this.#arm();
  }

  #stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  #arm(): void {
    const timer = setTimeout(() => {
      setImmediate(() => {
        // Stopped, or replaced by a newer timer, while this tick was on its way.
        if (this.#timer !== timer) return;
        const now = performance.now();
        this.#silentMs += Math.min(now - this.#lastTickAt, this.#tickMs + LAG_TOLERANCE_MS);
        this.#lastTickAt = now;
        if (!this.#stalled && this.#silentMs >= this.#stallMs) {
          this.#stalled = true;
          this.#onStall();
        }
        if (this.#timer !== timer) return; // onStall may have settled everything
        // Re-arm the same timer rather than make a new one per tick while commands are out.
        if (this.#outstanding > 0) timer.refresh();
        else this.#timer = undefined;
      });
    }, this.#tickMs);
    // The watch never keeps a process alive on its own.
    timer.unref();
    this.#timer = timer;
  }
}
