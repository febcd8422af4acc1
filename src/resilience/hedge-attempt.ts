import type { AttemptResult } from './execute.js';

/** Why a hedged attempt was stopped: the other attempt of the pair answered first. */
export class HedgeLostError extends Error {
  constructor() {
    super('another attempt of this request answered first');
    this.name = 'HedgeLostError';
  }
}

/**
 * One attempt of a hedged pair, with its own AbortController so the loser's upstream connection
 * can be closed without touching the request. The request's abort (client gone, deadline) still
 * reaches it with its own reason, so the attempt classifies it as before. The link is not
 * removed: it lives on the request's signal, which dies with the request, and a winner's stream
 * must still be cut by the deadline after its commit point.
 */
export class RacingAttempt<T, P> {
  readonly #controller = new AbortController();
  /** Settles with the attempt's result, or with what it threw (a bug), never rejects. */
  readonly settled: Promise<{ readonly run: RacingAttempt<T, P>; readonly result?: AttemptResult<T>; readonly thrown?: unknown }>;

  constructor(
    readonly picked: P,
    requestSignal: AbortSignal,
    run: (signal: AbortSignal) => Promise<AttemptResult<T>>,
  ) {
    const controller = this.#controller;
    if (requestSignal.aborted) controller.abort(requestSignal.reason);
    else requestSignal.addEventListener('abort', () => controller.abort(requestSignal.reason), { once: true });
    // A synchronous throw is caught like a rejection.
    this.settled = new Promise<AttemptResult<T>>((resolve) => resolve(run(controller.signal))).then(
      (result) => ({ run: this, result }),
      (thrown: unknown) => ({ run: this, thrown }),
    );
  }

  /** Stops the attempt because the other one answered first. */
  lose(): void {
    this.#controller.abort(new HedgeLostError());
  }
}
