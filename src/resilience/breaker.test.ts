import { describe, it, expect } from 'vitest';
import { ManualClock } from '../clock.js';
import {
  CircuitBreaker,
  defaultBreakerOptions,
  type BreakerOptions,
  type BreakerPermit,
  type BreakerTransition,
} from './breaker.js';
import { seededRandom } from '../testing/seeded-random.js';

// random() = 0.5 means zero jitter, so periods are exact unless a test asks otherwise.
function setup(overrides: Partial<BreakerOptions> = {}, random: () => number = () => 0.5) {
  const clock = new ManualClock();
  const transitions: BreakerTransition[] = [];
  const options = { ...defaultBreakerOptions, ...overrides };
  const breaker = new CircuitBreaker(options, clock, (t) => transitions.push(t), random);
  return { clock, breaker, transitions };
}

function acquire(breaker: CircuitBreaker): BreakerPermit {
  const permit = breaker.tryAcquire();
  if (permit === undefined) throw new Error('expected a permit');
  return permit;
}

function fail(breaker: CircuitBreaker, times: number): void {
  for (let i = 0; i < times; i++) acquire(breaker).failure();
}

describe('CircuitBreaker', () => {
  it('F-15: opens at the configured number of consecutive failures', () => {
    const { breaker, transitions } = setup();
    fail(breaker, 2);
    expect(breaker.state).toBe('closed');
    fail(breaker, 1);
    expect(breaker.state).toBe('open');
    expect(transitions).toEqual([{ from: 'closed', to: 'open', reason: '3 consecutive failures' }]);
  });

  it('trip() opens at once on one decisive event, makes permits in flight stale, and is a no-op while open', () => {
    const { clock, breaker, transitions } = setup({ openMs: 1_000, maxOpenMs: 1_000 });
    const inFlight = acquire(breaker);
    breaker.trip('stalled');
    expect(breaker.state).toBe('open');
    breaker.trip('stalled again');
    inFlight.success(); // settled after the trip: stale, does not close it
    expect(breaker.state).toBe('open');
    expect(transitions).toEqual([{ from: 'closed', to: 'open', reason: 'stalled' }]);
    clock.advance(1_000);
    expect(breaker.state).toBe('half_open');
    breaker.trip('probe stalled');
    expect(breaker.state).toBe('open');
  });

  it('a success resets the consecutive-failure count; release() does neither', () => {
    const { breaker } = setup();
    fail(breaker, 2);
    acquire(breaker).success();
    fail(breaker, 2);
    acquire(breaker).release();
    expect(breaker.state).toBe('closed');
    fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('settles each permit once: repeated calls on one permit count one outcome', () => {
    const { breaker } = setup();
    const permit = acquire(breaker);
    permit.failure();
    permit.failure();
    permit.failure();
    permit.success();
    expect(breaker.state).toBe('closed');
    fail(breaker, 1);
    expect(breaker.state).toBe('closed'); // 2 failures so far: the repeated ones did not count
    fail(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('F-15: skips the deployment while open and reports the remaining wait', () => {
    const { breaker, clock } = setup();
    expect(breaker.retryAfterMs()).toBe(0);
    fail(breaker, 3);
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.retryAfterMs()).toBe(30_000);
    clock.advance(29_999);
    expect(breaker.tryAcquire()).toBeUndefined();
    expect(breaker.retryAfterMs()).toBe(1);
    clock.advance(1);
    expect(breaker.state).toBe('half_open');
    expect(breaker.retryAfterMs()).toBe(0);
  });

  for (const probes of [1, 2, 3]) {
    it(`F-15: admits exactly ${probes} probe(s) under 100 concurrent tryAcquire calls`, () => {
      const { breaker, clock, transitions } = setup({ halfOpenProbes: probes });
      fail(breaker, 3);
      clock.advance(30_000);
      const permits = Array.from({ length: 100 }, () => breaker.tryAcquire());
      const admitted = permits.filter((p): p is BreakerPermit => p !== undefined);
      expect(admitted).toHaveLength(probes);
      expect(breaker.retryAfterMs()).toBe(30_000); // until the oldest probe would time out
      admitted.forEach((p) => p.success());
      expect(breaker.state).toBe('closed');
      expect(transitions.map((t) => t.reason)).toEqual([
        '3 consecutive failures',
        'open period elapsed',
        'probes succeeded',
      ]);
    });
  }

  it('stays half-open until every probe has succeeded, and one success counts once', () => {
    const { breaker, clock } = setup({ halfOpenProbes: 2 });
    fail(breaker, 3);
    clock.advance(30_000);
    const first = acquire(breaker);
    const second = acquire(breaker);
    first.success();
    first.success();
    expect(breaker.state).toBe('half_open');
    expect(breaker.tryAcquire()).toBeUndefined(); // a succeeded probe keeps its slot
    second.success();
    expect(breaker.state).toBe('closed');
  });

  it('reopens on any probe failure, even after another probe succeeded', () => {
    const { breaker, clock, transitions } = setup({ halfOpenProbes: 2 });
    fail(breaker, 3);
    clock.advance(30_000);
    const first = acquire(breaker);
    const second = acquire(breaker);
    first.success();
    second.failure();
    expect(breaker.state).toBe('open');
    expect(transitions.at(-1)).toEqual({ from: 'half_open', to: 'open', reason: 'probe failed' });
    expect(breaker.retryAfterMs()).toBe(60_000); // second consecutive opening
  });

  it('F-16: a hung probe times out and the breaker returns to open, never stuck half-open', () => {
    const { breaker, clock, transitions } = setup({ probeTimeoutMs: 5_000 });
    fail(breaker, 3);
    clock.advance(30_000);
    const probe = acquire(breaker);
    clock.advance(4_999);
    expect(breaker.state).toBe('half_open');
    expect(breaker.retryAfterMs()).toBe(1);
    clock.advance(1);
    expect(breaker.state).toBe('open');
    const last = transitions.at(-1);
    expect(last).toEqual({ from: 'half_open', to: 'open', reason: 'probe timed out' });
    probe.success(); // the late answer must not close the re-opened breaker
    expect(breaker.state).toBe('open');
    clock.advance(60_000);
    expect(breaker.state).toBe('half_open');
  });

  it('F-16: a probe settling after its timeout is stale even if nobody looked in between', () => {
    const { breaker, clock } = setup({ probeTimeoutMs: 5_000 });
    fail(breaker, 3);
    clock.advance(30_000);
    const probe = acquire(breaker);
    clock.advance(6_000);
    probe.success();
    expect(breaker.state).toBe('open');
  });

  it('grows the open period with consecutive openings, caps it, and resets after closing', () => {
    const { breaker, clock } = setup({ openMs: 1_000, maxOpenMs: 3_500 });
    fail(breaker, 3);
    const periods = [breaker.retryAfterMs()];
    for (let i = 0; i < 4; i++) {
      clock.advance(periods.at(-1) ?? 0);
      acquire(breaker).failure();
      periods.push(breaker.retryAfterMs());
    }
    expect(periods).toEqual([1_000, 2_000, 3_000, 3_500, 3_500]);
    clock.advance(3_500);
    acquire(breaker).success();
    expect(breaker.state).toBe('closed');
    fail(breaker, 3);
    expect(breaker.retryAfterMs()).toBe(1_000);
  });

  it('keeps every jittered open period within ±jitterRatio and uses the whole range', () => {
    const { breaker, clock } = setup({ openMs: 10_000, jitterRatio: 0.2 }, seededRandom(99));
    const periods: number[] = [];
    for (let i = 0; i < 2_000; i++) {
      fail(breaker, 3);
      const period = breaker.retryAfterMs();
      periods.push(period);
      clock.advance(period);
      acquire(breaker).success(); // closing resets the multiplier, so every period is the first
    }
    expect(Math.min(...periods)).toBeGreaterThanOrEqual(8_000);
    expect(Math.max(...periods)).toBeLessThanOrEqual(12_000);
    expect(Math.min(...periods)).toBeLessThan(8_100);
    expect(Math.max(...periods)).toBeGreaterThan(11_900);
  });

  it('maps random() to the jitter extremes', () => {
    const low = setup({ openMs: 10_000 }, () => 0);
    fail(low.breaker, 3);
    expect(low.breaker.retryAfterMs()).toBe(8_000);
    const high = setup({ openMs: 10_000 }, () => 1);
    fail(high.breaker, 3);
    expect(high.breaker.retryAfterMs()).toBe(12_000);
  });

  it('release() gives a probe slot back without changing state', () => {
    const { breaker, clock } = setup();
    fail(breaker, 3);
    clock.advance(30_000);
    const probe = acquire(breaker);
    expect(breaker.tryAcquire()).toBeUndefined();
    probe.release();
    probe.failure(); // already settled: must not reopen
    expect(breaker.state).toBe('half_open');
    acquire(breaker).success();
    expect(breaker.state).toBe('closed');
  });

  it('ignores stale permits from the closed generation during half-open', () => {
    const { breaker, clock } = setup();
    const stale = Array.from({ length: 5 }, () => acquire(breaker));
    fail(breaker, 3);
    clock.advance(30_000);
    const probe = acquire(breaker);
    stale[0]?.success(); // must not close the breaker or count as a probe
    stale[1]?.failure(); // must not reopen it
    stale[2]?.release(); // must not free the probe slot
    expect(breaker.state).toBe('half_open');
    expect(breaker.tryAcquire()).toBeUndefined();
    probe.success();
    expect(breaker.state).toBe('closed');
    stale[3]?.failure();
    stale[4]?.failure();
    fail(breaker, 2);
    expect(breaker.state).toBe('closed'); // only 2 fresh failures count
  });

  it('ignores a probe permit from an earlier half-open period', () => {
    const { breaker, clock } = setup({ halfOpenProbes: 2 });
    fail(breaker, 3);
    clock.advance(30_000);
    const old = acquire(breaker);
    acquire(breaker).failure();
    clock.advance(60_000);
    const fresh = acquire(breaker);
    old.success();
    expect(breaker.state).toBe('half_open');
    expect(breaker.tryAcquire()).toBeDefined(); // the old success took no slot
    fresh.success();
    expect(breaker.state).toBe('half_open');
  });

  it('rejects invalid options with a RangeError naming the field', () => {
    const clock = new ManualClock();
    const bad: Partial<BreakerOptions>[] = [
      { failureThreshold: 0 },
      { failureThreshold: 1.5 },
      { openMs: 0 },
      { openMs: Number.NaN },
      { maxOpenMs: 10 },
      { jitterRatio: 1 },
      { jitterRatio: -0.1 },
      { halfOpenProbes: 0 },
      { halfOpenProbes: 4 },
      { probeTimeoutMs: Infinity },
    ];
    for (const override of bad) {
      const field = Object.keys(override)[0] ?? '';
      const make = () => new CircuitBreaker({ ...defaultBreakerOptions, ...override }, clock);
      expect(make).toThrow(RangeError);
      expect(make).toThrow(field);
    }
  });
});
