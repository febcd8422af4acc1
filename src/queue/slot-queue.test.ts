import { afterEach, describe, expect, it, vi } from 'vitest';
import { ManualClock } from '../clock.js';
import { MemoryConcurrencyLimiter, type Acquired, type ConcurrencyLimiter, type Lease } from '../ratelimit/concurrency.js';
import { ClientGoneError, DeadlineExceededError } from '../resilience/abort-reasons.js';
import type { Priority } from './priority.js';
import { SlotQueue } from './slot-queue.js';
import { QueueWaitError, type QueueObserver } from './wait.js';

const flush = async (): Promise<void> => {
  for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
};

function recorder(): QueueObserver & { depth: number; outcomes: string[] } {
  const r = {
    depth: 0,
    outcomes: [] as string[],
    queueEntered: () => {
      r.depth++;
    },
    queueLeft: (e: Parameters<QueueObserver['queueLeft']>[0]) => {
      if (e.entered) r.depth--;
      r.outcomes.push(e.outcome);
    },
  };
  return r;
}

function setup(limiter: ConcurrencyLimiter, options: { maxPerTenant?: number; clock?: ManualClock } = {}) {
  const observer = recorder();
  const clock = options.clock ?? new ManualClock();
  const slots = new SlotQueue(limiter, { maxPerTenant: options.maxPerTenant ?? 10, maxTotal: 100, pollMs: 50, observer, clock, random: () => 0.5 });
  const wait = (tenant: string, priority: Priority = 'normal', signal = new AbortController().signal, maxWaitMs = 60_000): Promise<Lease> =>
    slots.wait(tenant, 1, undefined, { tenant, priority, weight: 1, signal, maxWaitMs });
  return { slots, observer, clock, wait };
}

afterEach(() => {
  vi.useRealTimers();
});

describe('SlotQueue', () => {
  it("wakes the tenant's next waiter when a watched lease is released, highest class first, FIFO within it", async () => {
    const limiter = new MemoryConcurrencyLimiter();
    const { slots, observer, wait } = setup(limiter);
    const first = slots.watch('t', limiter.tryAcquire('t', 1)!);
    const order: string[] = [];
    const leases: Lease[] = [];
    const enqueue = (name: string, p: Priority): void => {
      void wait('t', p).then((l) => {
        order.push(name);
        leases.push(l);
      });
    };
    enqueue('low', 'low');
    enqueue('normal1', 'normal');
    enqueue('normal2', 'normal');
    await flush();
    expect(observer.depth).toBe(3);
    first.release();
    await flush();
    expect(order).toEqual(['normal1']);
    leases[0]!.release();
    await flush();
    leases[1]!.release();
    await flush();
    expect(order).toEqual(['normal1', 'normal2', 'low']);
    leases[2]!.release();
    expect(limiter.inFlight('t')).toBe(0);
    expect(observer.depth).toBe(0);
    expect(slots.size).toBe(0);
  });

  it('a waiter that leaves is gone at once, and a slot that comes free after everyone left goes back', async () => {
    const limiter = new MemoryConcurrencyLimiter();
    const { slots, observer, wait } = setup(limiter);
    const held = slots.watch('t', limiter.tryAcquire('t', 1)!);
    const gone = new AbortController();
    const deadline = new AbortController();
    const a = wait('t', 'normal', gone.signal);
    const b = wait('t', 'normal', deadline.signal);
    gone.abort(new ClientGoneError());
    deadline.abort(new DeadlineExceededError(10));
    await expect(a).rejects.toBeInstanceOf(ClientGoneError);
    await expect(b).rejects.toBeInstanceOf(DeadlineExceededError);
    expect(slots.waiting('t')).toBe(0);
    held.release();
    await flush();
    expect(limiter.inFlight('t')).toBe(0);
    expect(observer.outcomes).toEqual(['client_gone', 'timeout']);
    expect(observer.depth).toBe(0);
  });

  it('refuses past the wait limit and past its per-tenant bound, and says when to come back from the hold times it saw', async () => {
    vi.useFakeTimers();
    const limiter = new MemoryConcurrencyLimiter();
    const clock = new ManualClock();
    const { slots, observer, wait } = setup(limiter, { maxPerTenant: 1, clock });
    expect(slots.retryAfterMs('t', 1)).toBe(1_000);
    const held = slots.watch('t', limiter.tryAcquire('t', 1)!);
    clock.advance(4_000);
    held.release();
    const again = slots.watch('t', limiter.tryAcquire('t', 1)!);
    const timedOut = wait('t', 'normal', new AbortController().signal, 500);
    await expect(wait('t')).rejects.toMatchObject({ outcome: 'full' });
    vi.advanceTimersByTime(500);
    await expect(timedOut).rejects.toBeInstanceOf(QueueWaitError);
    // One slot held for 4 s on average, nobody waiting: the next frees in about 4 s.
    expect(slots.retryAfterMs('t', 1)).toBe(4_000);
    again.release();
    expect(observer.outcomes).toEqual(['full', 'timeout']);
    expect(observer.depth).toBe(0);
  });

  it('does not lose a wakeup that arrives while an acquire is under way', async () => {
    // A limiter whose refusal is answered late: the release lands while the pump is asking.
    const inner = new MemoryConcurrencyLimiter();
    let gate: (() => void) | undefined;
    const slow: ConcurrencyLimiter = {
      async acquire(key, max): Promise<Acquired> {
        const answer = inner.tryAcquire(key, max);
        await new Promise<void>((r) => (gate = r));
        return { lease: answer, degraded: false };
      },
    };
    const { slots, wait } = setup(slow);
    const held = slots.watch('t', inner.tryAcquire('t', 1)!);
    const waiting = wait('t');
    await flush();
    // The pump asked and the answer (no) is pending; now the slot frees.
    held.release();
    gate?.();
    await flush();
    gate?.();
    const lease = await waiting;
    lease.release();
    expect(inner.inFlight('t')).toBe(0);
  });

  it('with shared slots, polls for releases made by another process while anyone waits, and stops when nobody does', async () => {
    vi.useFakeTimers();
    const elsewhere = new MemoryConcurrencyLimiter();
    let asks = 0;
    const shared: ConcurrencyLimiter = {
      async acquire(key, max) {
        asks++;
        return { lease: elsewhere.tryAcquire(key, max), degraded: false };
      },
    };
    const { slots, wait } = setup(shared);
    // Another replica holds the only slot: no release will be seen here.
    const other = elsewhere.tryAcquire('t', 1)!;
    const waiting = wait('t');
    await vi.advanceTimersByTimeAsync(200);
    const asked = asks;
    expect(asked).toBeGreaterThan(1);
    other.release();
    await vi.advanceTimersByTimeAsync(100);
    const lease = await waiting;
    const after = asks;
    await vi.advanceTimersByTimeAsync(1_000);
    expect(asks).toBe(after);
    lease.release();
    expect(elsewhere.inFlight('t')).toBe(0);
    expect(slots.size).toBe(0);
  });

  it('keeps waiting (and asking on the poll) while shared state is down, and admits once it answers again', async () => {
    vi.useFakeTimers();
    const slots = new MemoryConcurrencyLimiter();
    let down = true;
    const flaky: ConcurrencyLimiter = {
      async acquire(key, max) {
        if (down) throw new Error('redis down');
        return { lease: slots.tryAcquire(key, max), degraded: false };
      },
    };
    const { slots: waiters, wait } = setup(flaky);
    const waiting = wait('t');
    await vi.advanceTimersByTimeAsync(500);
    expect(waiters.waiting('t')).toBe(1);
    down = false;
    await vi.advanceTimersByTimeAsync(100);
    (await waiting).release();
    expect(slots.inFlight('t')).toBe(0);
    expect(waiters.size).toBe(0);
  });
});

describe('SlotQueue: a slot freed without notice here (in-process slots)', () => {
  it('a waiter gets a slot given back by a lease it did not hand out (taken before a reload turned the queue on) at the next poll, not a 429 at its wait limit', async () => {
    vi.useFakeTimers();
    const limiter = new MemoryConcurrencyLimiter();
    const { wait, observer } = setup(limiter);
    // Admitted while the queue was off: its lease was never watched, so its release wakes nobody.
    const before = limiter.tryAcquire('t', 1)!;
    let got: Lease | undefined;
    let refused: unknown;
    wait('t', 'normal', new AbortController().signal, 5_000).then(
      (l) => (got = l),
      (err: unknown) => (refused = err),
    );
    await vi.advanceTimersByTimeAsync(10);
    before.release();
    // Within a poll interval or two (pollMs 50), long before the 5 s wait limit.
    await vi.advanceTimersByTimeAsync(200);
    expect(refused).toBeUndefined();
    expect(got).toBeDefined();
    expect(observer.outcomes).toEqual(['admitted']);
    got!.release();
    expect(limiter.inFlight('t')).toBe(0);
  });
});
