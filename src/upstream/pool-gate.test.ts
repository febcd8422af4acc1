import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { PoolGate, PoolSaturatedError } from './pool-gate.js';

const never = new AbortController().signal;

describe('PoolGate', () => {
  it('hands out up to capacity at once, then makes callers wait for a release', async () => {
    const gate = new PoolGate({ capacity: 2, maxPerTenant: 2, maxWaiting: 4 });
    const a = gate.tryAcquire('a');
    const b = gate.tryAcquire('b');
    expect(a && b).toBeTruthy();
    expect(gate.tryAcquire('c')).toBeUndefined();
    const c = gate.acquire('c', never, 60_000);
    a?.();
    a?.(); // idempotent: a double release must not free a second slot
    await expect(c).resolves.toBeTypeOf('function');
    expect(gate.held).toBe(2);
    expect(gate.tryAcquire('d')).toBeUndefined();
  });

  it('caps one tenant at its share, keeping slots for the others', () => {
    const gate = new PoolGate({ capacity: 4, maxPerTenant: 3, maxWaiting: 4 });
    for (let i = 0; i < 3; i++) expect(gate.tryAcquire('greedy')).toBeDefined();
    expect(gate.tryAcquire('greedy')).toBeUndefined();
    expect(gate.tryAcquire('quiet')).toBeDefined();
  });

  it('gives a freed slot to the waiting tenant holding the fewest, not the oldest waiter', async () => {
    const gate = new PoolGate({ capacity: 2, maxPerTenant: 2, maxWaiting: 4 });
    const first = gate.tryAcquire('a');
    gate.tryAcquire('a');
    const order: string[] = [];
    void gate.acquire('a', never, 60_000).then(() => order.push('a'));
    void gate.acquire('b', never, 60_000).then(() => order.push('b'));
    first?.();
    await new Promise((r) => setImmediate(r));
    expect(order).toEqual(['b']);
  });

  it('rejects after the wait limit, when the queue is full, and at once on abort', async () => {
    const gate = new PoolGate({ capacity: 1, maxPerTenant: 1, maxWaiting: 1 });
    gate.tryAcquire('a');
    const timedOut = gate.acquire('b', never, 20);
    await expect(gate.acquire('c', never, 60_000).catch((e: unknown) => e)).resolves.toBeInstanceOf(PoolSaturatedError);
    await expect(timedOut).rejects.toMatchObject({ reason: 'wait-limit' });
    const controller = new AbortController();
    const aborted = gate.acquire('d', controller.signal, 60_000);
    controller.abort(new Error('deadline'));
    await expect(aborted).rejects.toThrow('deadline');
    expect(gate.waiting).toBe(0);
  });
});

describe('PoolGate with the fair queue', () => {
  const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

  it('gives a freed slot to a waiting normal call before any low (batch) call, whichever came first', async () => {
    const gate = new PoolGate({ capacity: 1, maxPerTenant: 1, maxWaiting: 10 });
    const held = gate.tryAcquire('batch')!;
    const order: string[] = [];
    const take = (tenant: string, priority: 'high' | 'normal' | 'low', name: string): void => {
      void gate.acquire(tenant, never, 60_000, priority).then((release) => {
        order.push(name);
        setImmediate(release);
      });
    };
    take('batch', 'low', 'low1');
    take('batch', 'low', 'low2');
    take('live', 'normal', 'normal1');
    take('vip', 'high', 'high1');
    held();
    for (let i = 0; i < 10 && order.length < 4; i++) await flush();
    expect(order).toEqual(['high1', 'normal1', 'low1', 'low2']);
  });

  it('shares freed slots between waiting tenants by weight', async () => {
    const gate = new PoolGate({ capacity: 100, maxPerTenant: 100, maxWaiting: 100 });
    const x = Array.from({ length: 100 }, () => gate.tryAcquire('x')!);
    const order: string[] = [];
    for (let i = 0; i < 12; i++) {
      for (const [tenant, weight] of [['a', 1], ['b', 3]] as const) void gate.acquire(tenant, never, 60_000, 'normal', weight).then(() => order.push(tenant));
    }
    // Each release frees one slot, which the fair queue hands to the next waiter (who keeps it).
    for (const release of x.slice(0, 16)) release();
    await flush();
    expect(order.filter((t) => t === 'b')).toHaveLength(12);
    expect(order.filter((t) => t === 'a')).toHaveLength(4);
    expect(order.slice(0, 4).sort()).toEqual(['a', 'b', 'b', 'b']);
  });

  it("bounds one tenant's waiters, and reports every wait once with its outcome (depth back to 0)", async () => {
    const events: string[] = [];
    let depth = 0;
    const gate = new PoolGate({
      capacity: 1,
      maxPerTenant: 1,
      maxWaiting: 10,
      maxWaitingPerTenant: 1,
      observer: {
        queueEntered: () => depth++,
        queueLeft: (e) => {
          if (e.entered) depth--;
          events.push(`${e.reason}:${e.outcome}`);
        },
      },
    });
    const held = gate.tryAcquire('other')!;
    const leaving = new AbortController();
    const waiting = gate.acquire('greedy', leaving.signal, 60_000);
    await expect(gate.acquire('greedy', never, 60_000)).rejects.toMatchObject({ reason: 'queue-full' });
    const patient = gate.acquire('patient', never, 60_000);
    expect(depth).toBe(2);
    leaving.abort(new Error('client left'));
    await expect(waiting).rejects.toThrow('client left');
    held();
    (await patient)();
    expect(depth).toBe(0);
    expect(gate.waiting).toBe(0);
    expect(gate.held).toBe(0);
    expect(events).toEqual(['pool:full', 'pool:client_gone', 'pool:admitted']);
  });
});

describe('PoolGate Retry-After', () => {
  it("tells a refused call when a connection is likely free, from the pool's observed hold times and queue", async () => {
    const clock = new ManualClock();
    const gate = new PoolGate({ capacity: 2, maxPerTenant: 2, maxWaiting: 1, clock });
    // Before any connection was given back there is nothing to go on: 1 s.
    const a = gate.tryAcquire('a')!;
    const b = gate.tryAcquire('a')!;
    await expect(gate.acquire('b', never, 0)).rejects.toMatchObject({ retryAfterMs: 1_000 });
    clock.advance(6_000);
    a();
    b();
    gate.tryAcquire('a');
    gate.tryAcquire('a');
    void gate.acquire('c', never, 60_000).catch(() => undefined);
    // Holds of 6 s, one call already waiting, two connections: 6 s × 2 ÷ 2.
    await expect(gate.acquire('d', never, 60_000)).rejects.toMatchObject({ reason: 'queue-full', retryAfterMs: 6_000 });
  });
});

describe('PoolGate: a queue full of low (batch) calls', () => {
  it('admits a live (normal) call to wait, refusing the newest low call instead of the live one', async () => {
    // A batch saturating a deployment fills its waiting places (4 × connections without the
    // queue): a live call arriving then must still wait for the next connection, ahead of them.
    const gate = new PoolGate({ capacity: 1, maxPerTenant: 1, maxWaiting: 2 });
    const held = gate.tryAcquire('batch')!;
    const low1 = gate.acquire('batch', never, 60_000, 'low');
    const low2 = gate.acquire('batch', never, 60_000, 'low').catch((e: unknown) => e);
    const live = gate.acquire('live', never, 60_000, 'normal');
    await expect(low2).resolves.toMatchObject({ reason: 'queue-full' });
    expect(gate.waiting).toBe(2);
    held();
    const release = await live;
    expect(gate.waiting).toBe(1);
    release();
    await expect(low1).resolves.toBeTypeOf('function');
  });

  it('still refuses a call of the same or a lower class when full', async () => {
    const gate = new PoolGate({ capacity: 1, maxPerTenant: 1, maxWaiting: 1 });
    gate.tryAcquire('a');
    const waiting = gate.acquire('a', never, 60_000, 'normal');
    await expect(gate.acquire('b', never, 60_000, 'normal')).rejects.toMatchObject({ reason: 'queue-full' });
    await expect(gate.acquire('b', never, 60_000, 'low')).rejects.toMatchObject({ reason: 'queue-full' });
    expect(gate.waiting).toBe(1);
    void waiting;
  });
});

describe('PoolGate: one tenant filling every waiting place (the queue off: 4 per connection, no per-tenant bound)', () => {
  // KNOWN BUG, not fixed: with `queue.maxWaitMs: 0` the gate's per-tenant waiting bound is the
  // whole queue (pools.ts: maxWaitingPerTenant defaults to maxWaiting), so one tenant's burst
  // takes every waiting place and another tenant's second concurrent call is refused at once
  // (503 upstream_saturated) although the fair queue would serve it next. The issue's own
  // scenario (50 vs 2 concurrent on 4 connections) fails this way with the queue off. A fix is a
  // per-tenant bound below the total when the queue is off, or evicting the newest waiter of the
  // tenant with the most waiting when full (longest-queue drop): a behaviour change to decide.
  it.fails("a light tenant's call waits for a connection instead of a 503 when a heavy tenant fills the waiting places", async () => {
    const gate = new PoolGate({ capacity: 4, maxPerTenant: 3, maxWaiting: 16 });
    for (let i = 0; i < 3; i++) gate.tryAcquire('heavy');
    const light = gate.tryAcquire('light')!;
    const heavy = Array.from({ length: 16 }, () => gate.acquire('heavy', never, 60_000).catch((e: unknown) => e));
    const second = gate.acquire('light', never, 60_000);
    light();
    await expect(second).resolves.toBeTypeOf('function');
    void heavy;
  });
});
