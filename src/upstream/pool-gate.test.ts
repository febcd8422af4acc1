import { describe, expect, it } from 'vitest';
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
