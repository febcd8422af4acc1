import { describe, expect, it } from 'vitest';
import { seededRandom } from '../testing/seeded-random.js';
import { clampPriority, FairQueue, type QueuedEntry } from './fair-queue.js';
import type { Priority } from './priority.js';

const roomy = { maxPerTenant: 1_000, maxTotal: 10_000 };

function drain<T>(q: FairQueue<T>, n = Infinity): T[] {
  const out: T[] = [];
  for (let v = q.shift(); v !== undefined; v = out.length < n ? q.shift() : undefined) {
    out.push(v);
    if (out.length >= n) break;
  }
  return out;
}

function entry(e: QueuedEntry | string): QueuedEntry {
  if (typeof e === 'string') throw new Error(`queue refused: ${e}`);
  return e;
}

describe('FairQueue', () => {
  it('is FIFO within one tenant', () => {
    const q = new FairQueue<number>(roomy);
    for (let i = 0; i < 5; i++) q.push('a', 'normal', 1, i);
    expect(drain(q)).toEqual([0, 1, 2, 3, 4]);
    expect(q.size).toBe(0);
  });

  it("alternates equal-weight tenants, so one tenant's burst does not starve another's trickle", () => {
    const q = new FairQueue<string>(roomy);
    for (let i = 0; i < 50; i++) q.push('big', 'normal', 1, `big${i}`);
    q.push('small', 'normal', 1, 'small0');
    q.push('small', 'normal', 1, 'small1');
    const order = drain(q);
    // Each small request waits behind at most one big one.
    expect(order.indexOf('small0')).toBeLessThanOrEqual(1);
    expect(order.indexOf('small1')).toBeLessThanOrEqual(3);
    expect(order).toHaveLength(52);
  });

  it('serves tenants in proportion to their weights while all of them wait', () => {
    const q = new FairQueue<string>(roomy);
    const weights: Record<string, number> = { a: 1, b: 2, c: 5 };
    for (const [t, w] of Object.entries(weights)) for (let i = 0; i < 400; i++) q.push(t, 'normal', w, t);
    const served = drain(q, 400);
    const count = (t: string): number => served.filter((s) => s === t).length;
    // 400 turns of rounds of 8 (1 + 2 + 5): exactly 50 rounds.
    expect([count('a'), count('b'), count('c')]).toEqual([50, 100, 250]);
  });

  it('serves a higher class first, whatever the weights and arrival order', () => {
    const q = new FairQueue<string>(roomy);
    q.push('batch', 'low', 100, 'low1');
    q.push('batch', 'low', 100, 'low2');
    q.push('live', 'normal', 1, 'normal1');
    q.push('vip', 'high', 1, 'high1');
    q.push('live', 'normal', 1, 'normal2');
    expect(drain(q)).toEqual(['high1', 'normal1', 'normal2', 'low1', 'low2']);
  });

  it('never starves a waiting tenant: between two of its turns, the others get at most one round', () => {
    const random = seededRandom(7);
    const weights: Record<string, number> = { a: 1, b: 3, c: 1, d: 7 };
    const q = new FairQueue<string>(roomy);
    // Turns given to others since each waiting tenant was last served (or started waiting).
    const othersSince = new Map<string, number>();
    let worst: Record<string, number> = {};
    for (let step = 0; step < 20_000; step++) {
      for (const t of Object.keys(weights)) {
        // d floods, the others trickle.
        if (random() >= (t === 'd' ? 0.9 : 0.15)) continue;
        if (q.sizeOf(t) === 0) othersSince.set(t, 0);
        q.push(t, 'normal', weights[t]!, t);
      }
      const served = q.shift();
      if (served === undefined) continue;
      for (const [t, n] of othersSince) {
        if (t === served) othersSince.set(t, 0);
        else othersSince.set(t, n + 1);
        worst = { ...worst, [t]: Math.max(worst[t] ?? 0, othersSince.get(t)!) };
      }
      if (q.sizeOf(served) === 0) othersSince.delete(served);
    }
    const total = Object.values(weights).reduce((a, b) => a + b, 0);
    for (const [t, w] of Object.entries(weights)) expect(worst[t] ?? 0, t).toBeLessThanOrEqual(total - w);
    // The trickling tenants were actually contended (the bound was tested, not vacuous).
    expect(worst.a).toBeGreaterThan(weights.d!);
  });

  it('refuses past the per-tenant and total bounds, and takes more once entries leave', () => {
    const q = new FairQueue<number>({ maxPerTenant: 2, maxTotal: 3 });
    const first = entry(q.push('a', 'normal', 1, 1));
    entry(q.push('a', 'normal', 1, 2));
    expect(q.push('a', 'normal', 1, 3)).toBe('tenant');
    entry(q.push('b', 'normal', 1, 4));
    expect(q.push('c', 'normal', 1, 5)).toBe('total');
    first.remove();
    expect(q.size).toBe(2);
    entry(q.push('c', 'normal', 1, 5));
    expect(q.push('a', 'normal', 1, 6)).toBe('total');
  });

  it('removes a waiter at once from anywhere in the queue, and removal twice is a no-op', () => {
    const q = new FairQueue<number>(roomy);
    const entries = [1, 2, 3, 4].map((i) => entry(q.push(i % 2 ? 'a' : 'b', 'normal', 1, i)));
    entries[0]!.remove();
    entries[0]!.remove();
    entries[3]!.remove();
    expect(q.size).toBe(2);
    expect(q.sizeOf('a')).toBe(1);
    expect(drain(q).sort()).toEqual([2, 3]);
  });

  it('leaks nothing: a tenant whose entries all left takes no room and no turn', () => {
    const q = new FairQueue<string>({ maxPerTenant: 1, maxTotal: 2 });
    for (let i = 0; i < 1_000; i++) {
      const e = entry(q.push(`t${i}`, (['high', 'normal', 'low'] as const)[i % 3]!, 1, `t${i}`));
      e.remove();
    }
    expect(q.size).toBe(0);
    expect(q.shift()).toBeUndefined();
    entry(q.push('x', 'normal', 1, 'x'));
    entry(q.push('y', 'normal', 1, 'y'));
    expect(drain(q)).toEqual(['x', 'y']);
  });

  it('keeps a blocked tenant waiting but out of turn until it is unblocked, then at the back of the round', () => {
    const q = new FairQueue<string>(roomy);
    q.block('a');
    q.push('a', 'normal', 1, 'a1');
    q.push('b', 'normal', 1, 'b1');
    q.push('b', 'normal', 1, 'b2');
    expect(q.shift()).toBe('b1');
    q.unblock('a');
    expect(drain(q)).toEqual(['b2', 'a1']);
    q.block('a');
    q.push('a', 'high', 1, 'a-high');
    expect(q.shift()).toBeUndefined();
    expect(q.size).toBe(1);
    q.unblock('a');
    expect(q.shift()).toBe('a-high');
  });

  it("shiftTenant takes that tenant's own next, highest class first", () => {
    const q = new FairQueue<string>(roomy);
    q.push('a', 'low', 1, 'a-low');
    q.push('b', 'high', 1, 'b-high');
    q.push('a', 'normal', 1, 'a-normal');
    expect(q.shiftTenant('a')).toBe('a-normal');
    expect(q.shiftTenant('a')).toBe('a-low');
    expect(q.shiftTenant('a')).toBeUndefined();
    expect(drain(q)).toEqual(['b-high']);
  });

  it('stays correct under random pushes, shifts, removals and blocks (checked against a model)', () => {
    const random = seededRandom(42);
    const live = new Map<number, { entry: QueuedEntry; tenant: string; priority: Priority }>();
    // A full queue makes room for a higher class by evicting a lower one: the model forgets it.
    const q = new FairQueue<number>({ maxPerTenant: 20, maxTotal: 60 }, (v) => {
      expect(live.delete(v)).toBe(true);
    });
    const blocked = new Set<string>();
    let id = 0;
    for (let step = 0; step < 20_000; step++) {
      const r = random();
      const tenant = `t${Math.floor(random() * 6)}`;
      if (r < 0.45) {
        const priority = (['high', 'normal', 'low'] as const)[Math.floor(random() * 3)]!;
        const e = q.push(tenant, priority, 1 + Math.floor(random() * 4), id);
        if (typeof e !== 'string') live.set(id, { entry: e, tenant, priority });
        id++;
      } else if (r < 0.7) {
        const v = q.shift();
        const servable = [...live.values()].filter((w) => !blocked.has(w.tenant));
        if (servable.length === 0) expect(v).toBeUndefined();
        else {
          expect(v).toBeDefined();
          const got = live.get(v!)!;
          // Strict priority: nothing servable of a higher class was waiting.
          const best = Math.min(...servable.map((w) => clsOf(w.priority)));
          expect(clsOf(got.priority)).toBe(best);
          live.delete(v!);
        }
      } else if (r < 0.9) {
        const ids = [...live.keys()];
        if (ids.length > 0) {
          const pick = ids[Math.floor(random() * ids.length)]!;
          live.get(pick)!.entry.remove();
          live.delete(pick);
        }
      } else if (r < 0.95) {
        q.block(tenant);
        blocked.add(tenant);
      } else {
        q.unblock(tenant);
        blocked.delete(tenant);
      }
      expect(q.size).toBe(live.size);
    }
  });
});

describe('clampPriority', () => {
  it('lowers a wish above the ceiling and keeps one at or below it', () => {
    expect(clampPriority('high', 'normal')).toBe('normal');
    expect(clampPriority('low', 'normal')).toBe('low');
    expect(clampPriority('high', 'high')).toBe('high');
    expect(clampPriority('normal', 'low')).toBe('low');
  });
});

function clsOf(p: Priority): number {
  return p === 'high' ? 0 : p === 'normal' ? 1 : 2;
}

describe('FairQueue: full of a lower class', () => {
  it('makes room for a higher class by evicting the newest entry of the lowest class waiting (total bound)', () => {
    const evicted: string[] = [];
    const q = new FairQueue<string>({ maxPerTenant: 10, maxTotal: 3 }, (v) => evicted.push(v));
    q.push('batch', 'low', 1, 'low0');
    q.push('batch', 'low', 1, 'low1');
    q.push('other', 'normal', 1, 'normal0');
    expect(typeof q.push('live', 'high', 1, 'high0')).toBe('object');
    expect(evicted).toEqual(['low1']);
    expect(typeof q.push('live', 'normal', 1, 'normal1')).toBe('object');
    expect(evicted).toEqual(['low1', 'low0']);
    // Nothing lower than normal is left: a normal push is refused, a low one too.
    expect(q.push('live', 'normal', 1, 'normal2')).toBe('total');
    expect(q.push('batch', 'low', 1, 'low2')).toBe('total');
    expect(q.size).toBe(3);
    expect(drain(q)).toEqual(['high0', 'normal0', 'normal1']);
  });

  it("makes room within a tenant's own bound for its higher class, evicting its own low entries only", () => {
    const evicted: string[] = [];
    const q = new FairQueue<string>({ maxPerTenant: 2, maxTotal: 100 }, (v) => evicted.push(v));
    q.push('other', 'low', 1, 'other-low');
    q.push('team', 'low', 1, 'team-low0');
    q.push('team', 'low', 1, 'team-low1');
    expect(typeof q.push('team', 'normal', 1, 'team-normal')).toBe('object');
    expect(evicted).toEqual(['team-low1']);
    expect(q.sizeOf('team')).toBe(2);
    expect(q.sizeOf('other')).toBe(1);
  });

  it('evicts a blocked tenant’s low entries too (they count toward the total)', () => {
    const evicted: string[] = [];
    const q = new FairQueue<string>({ maxPerTenant: 10, maxTotal: 1 }, (v) => evicted.push(v));
    q.push('batch', 'low', 1, 'low0');
    q.block('batch');
    expect(typeof q.push('live', 'normal', 1, 'normal0')).toBe('object');
    expect(evicted).toEqual(['low0']);
    q.unblock('batch');
    expect(drain(q)).toEqual(['normal0']);
  });
});
