import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { StateUnavailableError } from '../state/state-errors.js';
import { FallbackConcurrencyLimiter, MemoryConcurrencyLimiter, type ConcurrencyLimiter } from './concurrency.js';
import { FallbackRateLimiter, LimitUnavailableError } from './fallback-limiter.js';
import type { LimitCheck, RateLimiter } from './limiter.js';
import { MemoryRateLimiter } from './memory-limiter.js';

const down: RateLimiter & ConcurrencyLimiter = {
  consume: () => Promise.reject(new StateUnavailableError('connection', 700)),
  adjust: () => Promise.reject(new StateUnavailableError('connection', 700)),
  acquire: () => Promise.reject(new StateUnavailableError('connection', 700)),
};

const spec = { capacity: 12, refillPerSecond: 0.001 };
const req = (failureMode?: 'open' | 'closed'): LimitCheck => ({ key: 't|m|requests', kind: 'requests', bucket: spec, cost: 1, ...(failureMode ? { failureMode } : {}) });

describe('FallbackRateLimiter', () => {
  it('decides on the shared limiter while it answers', async () => {
    const shared = new MemoryRateLimiter(new ManualClock());
    const limiter = new FallbackRateLimiter(shared, { processes: () => 3 });
    const d = await limiter.consume([req()]);
    expect(d.degraded).toBeUndefined();
    expect(d.states[0]?.remaining).toBe(11);
  });

  it('fail-open: admits limit ÷ expectedReplicas locally, marks each decision degraded, reports the real limit', async () => {
    const limiter = new FallbackRateLimiter(down, { processes: () => 3, local: new MemoryRateLimiter(new ManualClock()) });
    const decisions = [];
    for (let i = 0; i < 6; i++) decisions.push(await limiter.consume([req('open')]));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, true, false, false]);
    expect(decisions.every((d) => d.degraded === true)).toBe(true);
    expect(decisions[0]?.states[0]?.limit).toBe(12);
  });

  it('fail-open never calls a cost that fits the real limit impossible', async () => {
    const limiter = new FallbackRateLimiter(down, { processes: () => 4, local: new MemoryRateLimiter(new ManualClock()) });
    const d = await limiter.consume([{ ...req(), cost: 10 }]);
    expect(d).toMatchObject({ allowed: false, impossible: false, degraded: true });
  });

  it('fail-closed: refuses with LimitUnavailableError carrying the breaker wait; a closed check wins over open ones', async () => {
    const limiter = new FallbackRateLimiter(down, { processes: () => 1 });
    const tokens: LimitCheck = { key: 't|m|tokens', kind: 'tokens', bucket: spec, cost: 1, failureMode: 'closed' };
    await expect(limiter.consume([req('open'), tokens])).rejects.toMatchObject({ kind: 'tokens', retryAfterMs: 700 });
    await expect(limiter.consume([req('closed')])).rejects.toBeInstanceOf(LimitUnavailableError);
  });

  it('adjust falls back to the local share and never rejects', async () => {
    const local = new MemoryRateLimiter(new ManualClock());
    const limiter = new FallbackRateLimiter(down, { processes: () => 2, local });
    await limiter.adjust('t|m|requests', spec, 6); // the local share (6) is spent
    expect((await limiter.consume([req()])).allowed).toBe(false);
  });

  it('passes other errors through (a bug is not an outage)', async () => {
    const broken: RateLimiter = { consume: () => Promise.reject(new RangeError('bad')), adjust: () => Promise.reject(new RangeError('bad')) };
    await expect(new FallbackRateLimiter(broken, { processes: () => 1 }).consume([req()])).rejects.toBeInstanceOf(RangeError);
  });
});

describe('concurrency limiters', () => {
  it('memory: at most max leases per key; release is idempotent and frees the slot', async () => {
    const limiter = new MemoryConcurrencyLimiter();
    const a = await limiter.acquire('t', 2);
    const b = await limiter.acquire('t', 2);
    expect((await limiter.acquire('t', 2)).lease).toBeUndefined();
    expect((await limiter.acquire('other', 2)).lease).toBeDefined();
    a.lease?.release();
    a.lease?.release();
    expect(limiter.inFlight('t')).toBe(1);
    b.lease?.release();
    expect(limiter.inFlight('t')).toBe(0);
  });

  it('fallback: open admits max ÷ expectedReplicas (at least 1) locally; closed refuses', async () => {
    const open = new FallbackConcurrencyLimiter(down, () => 3);
    const got = [await open.acquire('t', 7), await open.acquire('t', 7), await open.acquire('t', 7)];
    expect(got.map((g) => g.lease !== undefined)).toEqual([true, true, false]);
    expect(got.every((g) => g.degraded)).toBe(true);
    expect((await new FallbackConcurrencyLimiter(down, () => 100).acquire('u', 7)).lease).toBeDefined();
    await expect(open.acquire('t', 7, 'closed')).rejects.toBeInstanceOf(LimitUnavailableError);
  });
});

describe('FallbackRateLimiter: unknown outcomes and the local share (issue 9 §5)', () => {
  const allowedDecision = { allowed: true, retryAfterMs: 0, rejectedBy: undefined, impossible: false, states: [{ kind: 'requests' as const, limit: 12, remaining: 5, resetMs: 1 }] };
  /** A shared limiter whose consume timed out, and whose decision then arrives late. */
  function timedOut(late: unknown): RateLimiter & { adjusts: number[] } {
    const adjusts: number[] = [];
    return {
      adjusts,
      consume: () => Promise.reject(new StateUnavailableError('timeout', 50, { late: Promise.resolve(late) })),
      adjust: async (_k, _b, delta) => void adjusts.push(delta),
    };
  }
  const settle = () => new Promise((r) => setImmediate(r));

  it('admitted locally, and Redis admitted it too after the timeout: counted once (in Redis; the local charge is given back)', async () => {
    const shared = timedOut(allowedDecision);
    const local = new MemoryRateLimiter(new ManualClock());
    const limiter = new FallbackRateLimiter(shared, { processes: () => 1, local });
    expect((await limiter.consume([req('open')])).allowed).toBe(true);
    await settle();
    expect(shared.adjusts).toEqual([]);
    // The local share is full again: its 12 are all there.
    expect((await local.consume([{ ...req(), cost: 12 }])).allowed).toBe(true);
  });

  it('refused (fail-closed), and Redis admitted it after the timeout: the Redis charge is refunded once', async () => {
    const shared = timedOut(allowedDecision);
    const limiter = new FallbackRateLimiter(shared, { processes: () => 1 });
    await expect(limiter.consume([req('closed')])).rejects.toBeInstanceOf(LimitUnavailableError);
    await settle();
    expect(shared.adjusts).toEqual([-1]);
  });

  it('the local share starts from what Redis last said was left (÷ processes), not from a full bucket', async () => {
    let up = true;
    const remote = new MemoryRateLimiter(new ManualClock());
    const flaky: RateLimiter = {
      consume: (checks) => (up ? remote.consume(checks) : Promise.reject(new StateUnavailableError('timeout', 50))),
      adjust: (k, b, d) => remote.adjust(k, b, d),
    };
    const limiter = new FallbackRateLimiter(flaky, { processes: () => 2, local: new MemoryRateLimiter(new ManualClock()) });
    for (let i = 0; i < 12; i++) expect((await limiter.consume([req('open')])).allowed).toBe(true);
    up = false;
    // Redis said 0 left: one slow reply must not open a fresh share of 6.
    const d = await limiter.consume([req('open')]);
    expect(d).toMatchObject({ allowed: false, degraded: true });
  });
});
