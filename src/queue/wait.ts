/**
 * One bounded wait in a FairQueue: it ends when a grant hands it a value, when its wait limit
 * passes, or at once when its signal aborts (client gone, deadline, drain); in every case its
 * entry leaves the queue at once and one `queueLeft` event tells how it ended.
 */
import type { Clock } from '../clock.js';
import { DeadlineExceededError } from '../resilience/abort-reasons.js';
import type { FairQueue, QueuedEntry, QueueFull } from './fair-queue.js';
import type { Priority } from './priority.js';

/** What a request waited for (a closed vocabulary: a metric label). */
export type QueueReason = 'concurrency' | 'pool' | 'cooldown';

/** How a wait ended (a metric label): `full` never entered the queue. */
export type WaitOutcome = 'admitted' | 'timeout' | 'client_gone' | 'full';

/** Where queue waits are reported (GatewayEvents implements it). */
export interface QueueObserver {
  queueEntered(e: { readonly reason: QueueReason; readonly priority: Priority }): void;
  queueLeft(e: QueueLeftEvent): void;
}

export interface QueueLeftEvent {
  readonly reason: QueueReason;
  /** Whose wait it was (for logs and tests; never a metric label: admin-made teams are unbounded). */
  readonly tenant: string;
  readonly priority: Priority;
  readonly outcome: WaitOutcome;
  readonly waitMs: number;
  /** False when refused without waiting (no room, or no wait allowed). */
  readonly entered: boolean;
}

export const noQueueObserver: QueueObserver = { queueEntered: () => undefined, queueLeft: () => undefined };

/** A wait that ended without a grant: its wait limit passed, or the queue had no room. */
export class QueueWaitError extends Error {
  constructor(
    readonly outcome: 'timeout' | 'full',
    /** Which bound refused (outcome `full`). */
    readonly full?: QueueFull,
  ) {
    super(outcome === 'timeout' ? 'nothing became free within the wait limit' : `the queue is full (${full === 'tenant' ? 'this tenant has' : 'there are'} too many requests waiting)`);
    this.name = 'QueueWaitError';
  }
}

/** What the queue holds for each wait: a grant hands it its value (a wait that left is never granted). */
export interface Waiter<R> {
  readonly tenant: string;
  grant(value: R): void;
  /** Refuses it (outcome `full`): its place went to a higher class (FairQueue's eviction). */
  evict(full: QueueFull): void;
}

/** What a FairQueue of waiters does with one it evicts. */
export const evictWaiter = <R>(w: Waiter<R>, full: QueueFull): void => w.evict(full);

export interface WaitRequest {
  readonly tenant: string;
  readonly priority: Priority;
  /** The tenant's weight within its class (1 to maxWeight). */
  readonly weight: number;
  /** Ends the wait at once with its reason. */
  readonly signal: AbortSignal;
  /** Longest wait; ≤ 0 refuses at once (timeout). */
  readonly maxWaitMs: number;
}

/**
 * Waits in `queue` for a grant. Rejects with QueueWaitError (`full` at once, `timeout` after
 * `maxWaitMs`) or with the signal's reason; never leaves an entry behind.
 */
export function waitInQueue<R>(queue: FairQueue<Waiter<R>>, req: WaitRequest, reason: QueueReason, observer: QueueObserver, clock: Clock): Promise<R> {
  const { priority } = req;
  if (req.signal.aborted) return Promise.reject(req.signal.reason);
  if (req.maxWaitMs <= 0) {
    observer.queueLeft({ reason, tenant: req.tenant, priority, outcome: 'timeout', waitMs: 0, entered: false });
    return Promise.reject(new QueueWaitError('timeout'));
  }
  return new Promise<R>((resolve, reject) => {
    const startMs = clock.nowMs();
    let timer: NodeJS.Timeout | undefined;
    let entry: QueuedEntry | undefined;
    const end = (outcome: WaitOutcome): void => {
      clearTimeout(timer);
      req.signal.removeEventListener('abort', onAbort);
      entry?.remove();
      observer.queueLeft({ reason, tenant: req.tenant, priority, outcome, waitMs: clock.nowMs() - startMs, entered: true });
    };
    const onAbort = (): void => {
      end(req.signal.reason instanceof DeadlineExceededError ? 'timeout' : 'client_gone');
      reject(req.signal.reason);
    };
    const waiter: Waiter<R> = {
      tenant: req.tenant,
      grant: (value) => {
        end('admitted');
        resolve(value);
      },
      evict: (full) => {
        end('full');
        reject(new QueueWaitError('full', full));
      },
    };
    const pushed = queue.push(req.tenant, priority, req.weight, waiter);
    if (typeof pushed === 'string') {
      observer.queueLeft({ reason, tenant: req.tenant, priority, outcome: 'full', waitMs: 0, entered: false });
      reject(new QueueWaitError('full', pushed));
      return;
    }
    entry = pushed;
    observer.queueEntered({ reason, priority });
    timer = setTimeout(() => {
      end('timeout');
      reject(new QueueWaitError('timeout'));
    }, req.maxWaitMs);
    req.signal.addEventListener('abort', onAbort, { once: true });
  });
}
