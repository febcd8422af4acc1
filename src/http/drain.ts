import type { Server, ServerResponse } from 'node:http';
import { sleep } from '../clock.js';
import { ShuttingDownError } from '../resilience/abort-reasons.js';

/**
 * The requests a server has accepted and not yet answered in full, so a drain can wait for
 * them, mark their connections to close, and stop the stragglers at the grace deadline.
 */
export class InFlightRequests {
  readonly #requests = new Map<ServerResponse, AbortController | undefined>();
  #waiters: Array<() => void> = [];
  #draining = false;
  #operations = 0;

  /** True once a drain began: every response from then on carries `Connection: close`. */
  get draining(): boolean {
    return this.#draining;
  }

  get size(): number {
    return this.#requests.size;
  }

  /** API operations (model calls) in flight: the live traffic batch items yield to. */
  get operations(): number {
    return this.#operations;
  }

  /** Tracks a request from its arrival until its response closes (finished or destroyed). */
  track(res: ServerResponse): void {
    if (this.#draining && !res.headersSent) res.setHeader('connection', 'close');
    this.#requests.set(res, undefined);
    res.once('close', () => {
      if (this.#requests.get(res) !== undefined) this.#operations--;
      this.#requests.delete(res);
      if (this.#requests.size === 0) for (const wake of this.#waiters.splice(0)) wake();
    });
  }

  /** The controller that stops the request's work when the grace period ends. */
  attach(res: ServerResponse, controller: AbortController): void {
    if (!this.#requests.has(res)) return;
    if (this.#requests.get(res) === undefined) this.#operations++;
    this.#requests.set(res, controller);
  }

  /** Starts a drain: responses not yet begun will close their connection when done. */
  beginDrain(): void {
    this.#draining = true;
    for (const res of this.#requests.keys()) if (!res.headersSent) res.setHeader('connection', 'close');
  }

  /** Aborts every tracked request's work with ShuttingDownError (streams end with an error event). */
  abortAll(): number {
    let n = 0;
    for (const controller of this.#requests.values()) {
      if (controller && !controller.signal.aborted) {
        controller.abort(new ShuttingDownError());
        n++;
      }
    }
    return n;
  }

  /** Resolves when no request is in flight. */
  whenEmpty(): Promise<void> {
    if (this.#requests.size === 0) return Promise.resolve();
    return new Promise((resolve) => this.#waiters.push(resolve));
  }
}

export interface DrainOptions {
  /** Keep accepting connections this long after readiness turned off (load balancers notice). */
  readonly delayMs: number;
  /** From the start of the drain: the deadline for in-flight requests and streams. */
  readonly graceMs: number;
  readonly onPhase?: (phase: 'stop-accepting' | 'grace-expired' | 'drained', fields: Record<string, number>) => void;
}

// Idle keep-alive sockets are closed this often during a drain: a connection becomes idle when
// its response ends, and clients that ignored `Connection: close` would otherwise keep it.
const IDLE_SWEEP_MS = 50;
// After the grace deadline, aborted requests need only write their error event and end.
const ABORT_SETTLE_MS = 2_000;

/**
 * The drain sequence (scenario D-01; docs/operations.md), after readiness has been turned off: wait
 * `delayMs` still accepting, stop accepting and close idle connections, let in-flight requests
 * finish until `graceMs` from the start, then abort the rest (streams get one error event), and
 * finally close every remaining connection. Never rejects.
 */
export async function drainServer(server: Server, inFlight: InFlightRequests, options: DrainOptions): Promise<void> {
  const startedAt = performance.now();
  inFlight.beginDrain();
  if (options.delayMs > 0) await sleep(options.delayMs);
  server.close();
  server.closeIdleConnections();
  options.onPhase?.('stop-accepting', { inFlight: inFlight.size });
  const sweep = setInterval(() => server.closeIdleConnections(), IDLE_SWEEP_MS);
  sweep.unref();
  try {
    const remainingMs = Math.max(0, options.graceMs - (performance.now() - startedAt));
    const expired = await raceTimeout(inFlight.whenEmpty(), remainingMs);
    if (expired) {
      const aborted = inFlight.abortAll();
      options.onPhase?.('grace-expired', { aborted, inFlight: inFlight.size });
      await raceTimeout(inFlight.whenEmpty(), ABORT_SETTLE_MS);
    }
  } finally {
    clearInterval(sweep);
  }
  server.closeAllConnections();
  options.onPhase?.('drained', { ms: Math.round(performance.now() - startedAt) });
}

/** Resolves true if `ms` passed before `promise` settled. */
async function raceTimeout(promise: Promise<void>, ms: number): Promise<boolean> {
  const controller = new AbortController();
  const timeout = sleep(ms, controller.signal).then(
    () => true,
    () => false,
  );
  const done = promise.then(() => false);
  const expired = await Promise.race([done, timeout]);
  controller.abort();
  return expired;
}
