/**
 * The behaviour every RateLimiter must show, as a reusable vitest suite: the in-memory limiter
 * runs it now, and a Redis limiter must pass it unchanged. Imported only from test files.
 */
import { describe, it, expect } from 'vitest';
import { ManualClock } from '../clock.js';
import { seededRandom as mulberry32 } from '../testing/seeded-random.js';
import type { BucketSpec, LimitCheck, LimitKind, RateLimiter } from './limiter.js';

function check(
  key: string,
  bucket: BucketSpec,
  cost = 1,
  kind: LimitKind = 'requests',
): LimitCheck {
  return { key, kind, bucket, cost };
}

/**
 * Registers a vitest `describe(name)` block that checks `make(clock)` against the RateLimiter
 * contract; `make` must return a fresh, empty limiter driven by `clock`. Throws nothing itself.
 */
export function describeRateLimiterContract(
  name: string,
  make: (clock: ManualClock) => RateLimiter,
  options: ContractOptions = {},
): void {
  function setup(): { clock: ManualClock; limiter: RateLimiter } {
    const clock = new ManualClock();
    return { clock, limiter: make(clock) };
  }

  describe(name, () => {
    describeBursts(setup);
    describeAllOrNothing(setup);
    describeRetryAfter(setup);
    describeAdjust(setup);
    describeProperties(setup, options.livenessDecisions ?? 20_000);
  });
}

type Setup = () => { clock: ManualClock; limiter: RateLimiter };

export interface ContractOptions {
  /**
   * Decisions in the liveness check (default 20,000). A limiter that makes a network round
   * trip per decision may run fewer; the check's bounds scale with the simulated time.
   */
  readonly livenessDecisions?: number;
}

function describeBursts(setup: Setup): void {
  it('admits a burst of exactly capacity from a new bucket, then rejects', async () => {
    const { limiter } = setup();
    const spec = { capacity: 5, refillPerSecond: 1 };
    for (let i = 0; i < 5; i++) {
      const d = await limiter.consume([check('k', spec)]);
      expect(d.allowed).toBe(true);
      expect(d.retryAfterMs).toBe(0);
      const state = { kind: 'requests', limit: 5, remaining: 4 - i, resetMs: (i + 1) * 1000 };
      expect(d.states).toEqual([state]);
    }
    const d = await limiter.consume([check('k', spec)]);
    expect(d).toMatchObject({
      allowed: false,
      retryAfterMs: 1000,
      rejectedBy: 'requests',
      impossible: false,
    });
    expect(d.states[0]?.remaining).toBe(0);
  });

  it('admits a steady rate once the burst is spent', async () => {
    const { clock, limiter } = setup();
    const spec = { capacity: 1, refillPerSecond: 10 };
    expect((await limiter.consume([check('k', spec)])).allowed).toBe(true);
    for (let i = 0; i < 100; i++) {
      clock.advance(50);
      expect((await limiter.consume([check('k', spec)])).allowed, `half-way ${i}`).toBe(false);
      clock.advance(50);
      expect((await limiter.consume([check('k', spec)])).allowed, `on time ${i}`).toBe(true);
    }
  });

  it('keeps keys independent', async () => {
    const { limiter } = setup();
    const spec = { capacity: 1, refillPerSecond: 1 };
    expect((await limiter.consume([check('a', spec)])).allowed).toBe(true);
    expect((await limiter.consume([check('a', spec)])).allowed).toBe(false);
    expect((await limiter.consume([check('b', spec)])).allowed).toBe(true);
  });

  it('refills continuously and never above capacity', async () => {
    const { clock, limiter } = setup();
    const spec = { capacity: 10, refillPerSecond: 4 };
    await limiter.consume([check('k', spec, 10)]);
    clock.advance(750); // 3 tokens back
    const d = await limiter.consume([check('k', spec, 0)]);
    expect(d.states[0]).toMatchObject({ remaining: 3, resetMs: 1750 });
    clock.advance(3_600_000);
    const full = await limiter.consume([check('k', spec, 0)]);
    expect(full.states[0]).toMatchObject({ remaining: 10, resetMs: 0 });
    expect((await limiter.consume([check('k', spec, 11)])).allowed).toBe(false);
  });
}

function describeAllOrNothing(setup: Setup): void {
  const requests = { capacity: 10, refillPerSecond: 1 };
  const tokens = { capacity: 100, refillPerSecond: 10 };

  it('takes nothing from any bucket when one cannot pay', async () => {
    const { limiter } = setup();
    await limiter.consume([check('t', tokens, 90, 'tokens')]);
    const d = await limiter.consume([check('r', requests), check('t', tokens, 20, 'tokens')]);
    expect(d).toMatchObject({ allowed: false, rejectedBy: 'tokens', retryAfterMs: 1000 });
    expect(d.states.map((s) => s.remaining)).toEqual([10, 10]);
    const after = await limiter.consume([check('r', requests, 0)]);
    expect(after.states[0]?.remaining).toBe(10);
  });

  it('takes from every bucket when all can pay, and reports states in check order', async () => {
    const { limiter } = setup();
    const d = await limiter.consume([check('r', requests), check('t', tokens, 30, 'tokens')]);
    expect(d.allowed).toBe(true);
    expect(d.rejectedBy).toBeUndefined();
    expect(d.states).toEqual([
      { kind: 'requests', limit: 10, remaining: 9, resetMs: 1000 },
      { kind: 'tokens', limit: 100, remaining: 70, resetMs: 3000 },
    ]);
  });

  it('waits for the slowest bucket and blames the first that cannot pay', async () => {
    const { limiter } = setup();
    await limiter.consume([check('r', requests, 10), check('t', tokens, 100, 'tokens')]);
    const d = await limiter.consume([check('r', requests, 2), check('t', tokens, 50, 'tokens')]);
    expect(d).toMatchObject({ allowed: false, rejectedBy: 'requests', retryAfterMs: 5000 });
    const e = await limiter.consume([check('t', tokens, 50, 'tokens'), check('r', requests, 2)]);
    expect(e).toMatchObject({ allowed: false, rejectedBy: 'tokens', retryAfterMs: 5000 });
  });

  it('charges a key checked twice in one call for both checks', async () => {
    const { limiter } = setup();
    const spec = { capacity: 5, refillPerSecond: 1 };
    const d = await limiter.consume([check('k', spec, 3), check('k', spec, 3)]);
    expect(d).toMatchObject({ allowed: false, retryAfterMs: 1000 });
    expect((await limiter.consume([check('k', spec, 5)])).allowed).toBe(true);
  });

  it('marks a cost above capacity impossible, takes nothing, waits only to fill up', async () => {
    const { limiter } = setup();
    await limiter.consume([check('t', tokens, 40, 'tokens')]);
    const d = await limiter.consume([check('r', requests), check('t', tokens, 101, 'tokens')]);
    expect(d).toMatchObject({
      allowed: false,
      impossible: true,
      rejectedBy: 'tokens',
      retryAfterMs: 4000,
    });
    expect(d.states.map((s) => s.remaining)).toEqual([10, 60]);
  });

  it('rejects invalid specs and costs with a RangeError', async () => {
    const { limiter } = setup();
    const bad = [
      check('k', { capacity: 0, refillPerSecond: 1 }),
      check('k', { capacity: 1, refillPerSecond: Number.NaN }),
      check('k', { capacity: Infinity, refillPerSecond: 1 }),
      check('k', { capacity: 1, refillPerSecond: 1 }, -1),
      check('k', { capacity: 1, refillPerSecond: 1 }, Number.NaN),
    ];
    for (const c of bad) await expect(limiter.consume([c])).rejects.toThrow(RangeError);
    const spec = { capacity: 1, refillPerSecond: 1 };
    await expect(limiter.adjust('k', spec, Number.NaN)).rejects.toThrow(RangeError);
  });
}

function describeRetryAfter(setup: Setup): void {
  const cases: [BucketSpec, number][] = [
    [{ capacity: 10, refillPerSecond: 3 }, 1],
    [{ capacity: 10, refillPerSecond: 7 }, 4],
    [{ capacity: 3, refillPerSecond: 0.5 }, 2.5],
    [{ capacity: 1000, refillPerSecond: 1000 }, 333],
    [{ capacity: 100_000, refillPerSecond: 1666.6 }, 12_345],
    [{ capacity: 1, refillPerSecond: 0.1 }, 0.3],
  ];
  for (const [spec, cost] of cases) {
    const title = `${JSON.stringify(spec)}, cost ${cost}`;
    it(`retryAfterMs is exact: 1 ms early fails, on time succeeds (${title})`, async () => {
      const { clock, limiter } = setup();
      await limiter.consume([check('k', spec, spec.capacity)]);
      clock.advance(123); // start from a partly refilled bucket
      const first = await limiter.consume([check('k', spec, cost)]);
      expect(first.allowed).toBe(false);
      expect(Number.isInteger(first.retryAfterMs)).toBe(true);
      expect(first.retryAfterMs).toBeGreaterThan(0);
      clock.advance(first.retryAfterMs - 1);
      expect((await limiter.consume([check('k', spec, cost)])).allowed).toBe(false);
      clock.advance(1);
      expect((await limiter.consume([check('k', spec, cost)])).allowed).toBe(true);
    });
  }

  it('retryAfterMs is exact for random specs, costs and start levels', async () => {
    const random = mulberry32(31337);
    const { clock, limiter } = setup();
    const failures: string[] = [];
    for (let trial = 0; trial < 300; trial++) {
      const capacity = 1 + Math.floor(random() * 1000);
      const spec = { capacity, refillPerSecond: 0.05 + random() * 500 };
      const cost = Math.min(capacity, 0.5 + random() * capacity);
      const key = `trial-${trial}`;
      await limiter.consume([check(key, spec, capacity * random())]);
      clock.advance(random() * 50);
      const first = await limiter.consume([check(key, spec, cost)]);
      if (first.allowed) continue;
      clock.advance(first.retryAfterMs - 1);
      const early = (await limiter.consume([check(key, spec, cost)])).allowed;
      clock.advance(1);
      const onTime = (await limiter.consume([check(key, spec, cost)])).allowed;
      if (early || !onTime) failures.push(JSON.stringify({ key, spec, cost, early, onTime }));
    }
    expect(failures).toEqual([]);
  });
}

function describeAdjust(setup: Setup): void {
  const spec = { capacity: 10, refillPerSecond: 10 };

  it('lets adjust push a bucket into debt that later requests wait out', async () => {
    const { clock, limiter } = setup();
    await limiter.consume([check('k', spec, 10, 'tokens')]);
    await limiter.adjust('k', spec, 20); // now -20
    const d = await limiter.consume([check('k', spec, 1, 'tokens')]);
    expect(d).toMatchObject({ allowed: false, retryAfterMs: 2100 });
    expect(d.states[0]).toMatchObject({ remaining: 0, resetMs: 3000 });
    clock.advance(2099);
    expect((await limiter.consume([check('k', spec, 1, 'tokens')])).allowed).toBe(false);
    clock.advance(1);
    expect((await limiter.consume([check('k', spec, 1, 'tokens')])).allowed).toBe(true);
  });

  it('caps refunds at capacity', async () => {
    const { limiter } = setup();
    await limiter.consume([check('k', spec, 5)]);
    await limiter.adjust('k', spec, -100);
    const d = await limiter.consume([check('k', spec, 10)]);
    expect(d.allowed).toBe(true);
    expect((await limiter.consume([check('k', spec, 1)])).allowed).toBe(false);
  });

  it('treats an unseen key as a full bucket and never rejects', async () => {
    const { limiter } = setup();
    await expect(limiter.adjust('new', spec, 1_000)).resolves.toBeUndefined();
    const d = await limiter.consume([check('new', spec, 0)]);
    expect(d.allowed).toBe(false); // 10 − 1000 is deep in debt
    expect(d.retryAfterMs).toBe(99_000);
    await limiter.adjust('fresh', spec, 3);
    expect((await limiter.consume([check('fresh', spec, 8)])).allowed).toBe(false);
    expect((await limiter.consume([check('fresh', spec, 7)])).allowed).toBe(true);
  });
}

function describeProperties(setup: Setup, livenessDecisions: number): void {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`admitted in any window t ≤ capacity + rate·t, random schedule (seed ${seed})`, async () => {
      const random = mulberry32(seed);
      const { clock, limiter } = setup();
      const capacity = 1 + Math.floor(random() * 20);
      const spec = { capacity, refillPerSecond: 0.5 + random() * 50 };
      const admitted: { atMs: number; cost: number }[] = [];
      for (let i = 0; i < 600; i++) {
        clock.advance(Math.floor(random() * 120));
        const cost = 1 + Math.floor(random() * 3);
        if ((await limiter.consume([check('k', spec, cost)])).allowed) {
          admitted.push({ atMs: clock.nowMs(), cost });
        }
      }
      // Every window that starts and ends on an admission (the tightest windows there are).
      let worstExcess = -Infinity;
      admitted.forEach((first, start) => {
        let sum = 0;
        for (const last of admitted.slice(start)) {
          sum += last.cost;
          const bound = spec.capacity + (spec.refillPerSecond * (last.atMs - first.atMs)) / 1000;
          worstExcess = Math.max(worstExcess, sum - bound);
        }
      });
      expect(worstExcess).toBeLessThanOrEqual(1e-6);
      expect(admitted.length).toBeGreaterThan(spec.capacity / 3); // not trivially rejecting
    });
  }

  it('admits the full rate under saturating demand (liveness)', async () => {
    const random = mulberry32(77);
    const { clock, limiter } = setup();
    const spec = { capacity: 5, refillPerSecond: 20 };
    let admitted = 0;
    for (let i = 0; i < livenessDecisions; i++) {
      clock.advance(random() < 0.5 ? 1 : 0);
      if ((await limiter.consume([check('k', spec)])).allowed) admitted++;
    }
    const elapsedSeconds = clock.nowMs() / 1000;
    expect(admitted).toBeLessThanOrEqual(spec.capacity + spec.refillPerSecond * elapsedSeconds);
    expect(admitted).toBeGreaterThanOrEqual(spec.refillPerSecond * elapsedSeconds - 1);
  });
}
