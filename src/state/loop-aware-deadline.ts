/**
 * A command timeout that measures Redis, not this process's event loop.
 *
 * A plain timer (ioredis's `commandTimeout`) fires `timeoutMs` after the call on the wall clock.
 * On a busy machine the gateway's own loop can be blocked, or the process descheduled, for
 * longer than that while Redis answered in a millisecond: the reply sits unread in the socket
 * and the timer, run first when the loop wakes, declares Redis dead. Under load that opened
 * the Redis breaker and sent every process to its local share (issue 9 §5: 129–229 admitted for
 * a limit of 100).
 *
 * So when the timer fires, this deadline first yields once (setImmediate runs after the poll
 * phase, which reads whatever the socket already holds) and only then judges. And time the loop
 * was not watching does not count: the lateness of the timer plus the yield is the loop's lag,
 * and Redis gets that much more, again and again while the loop keeps lagging, up to `maxMs`
 * in all. A Redis that is really slow or gone still fails after `timeoutMs` of a responsive
 * loop, and never later than `maxMs`.
 */

/** The call's outcome did not arrive within its deadline; it may still run (see onLate). */
export class DeadlineExceededError extends Error {
  constructor(timeoutMs: number) {
    // "timed out" is what reasonFor (state-errors.ts) classifies as a timeout.
    super(`command timed out after ${timeoutMs} ms of event-loop time`);
    this.name = 'DeadlineExceededError';
  }
}

// Timers are late by a millisecond or two on an idle loop; lateness below this is not lag.
const LAG_TOLERANCE_MS = 2;

export interface DeadlineOptions {
  readonly timeoutMs: number;
  /** The most the call may take in wall time, however late the loop runs. */
  readonly maxMs: number;
  /** Called with the value when the work settles successfully after the deadline gave up. */
  readonly onLate?: (value: unknown) => void;
  /** Called when the work fails after the deadline gave up. */
  readonly onLateFailure?: () => void;
}

export function withDeadline<T>(work: Promise<T>, options: DeadlineOptions): Promise<T> {
  const { timeoutMs, maxMs, onLate, onLateFailure } = options;
  return new Promise<T>((resolve, reject) => {
    let decided = false;
    let timer: NodeJS.Timeout | undefined;
    const startedAt = performance.now();
    work.then(
      (value) => {
        if (decided) {
          onLate?.(value);
          return;
        }
        decided = true;
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        if (decided) {
          onLateFailure?.();
          return;
        }
        decided = true;
        clearTimeout(timer);
        reject(err instanceof Error ? err : new Error(String(err)));
      },
    );
    const arm = (waitMs: number): void => {
      const dueAt = performance.now() + waitMs;
      timer = setTimeout(() => {
        setImmediate(() => {
          if (decided) return;
          const now = performance.now();
          const lagMs = now - dueAt;
          const leftMs = maxMs - (now - startedAt);
          if (lagMs > LAG_TOLERANCE_MS && leftMs > 0) {
            arm(Math.min(lagMs, leftMs));
            return;
          }
          decided = true;
          reject(new DeadlineExceededError(timeoutMs));
        });
      }, waitMs);
    };
    arm(Math.min(timeoutMs, maxMs));
  });
}
