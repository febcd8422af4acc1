import { describe, expect, it } from 'vitest';
import { seededRandom } from '../testing/seeded-random.js';
import { FEATURE_COUNT, LatencyModel, MIN_SAMPLES, STALE_AFTER_MS, writeFeatures } from './latency-model.js';
import { TargetStats } from './target-stats.js';

/** A synthetic server: TTFT and TPOT linear in the features, as the model assumes. */
interface System {
  readonly base: number;
  readonly perKiloToken: number;
  readonly perInFlight: number;
  readonly perWaiting: number;
  readonly tpot: number;
  readonly tpotPerInFlight: number;
}

const systemA: System = { base: 40, perKiloToken: 25, perInFlight: 12, perWaiting: 30, tpot: 15, tpotPerInFlight: 2 };
const systemB: System = { base: 120, perKiloToken: 80, perInFlight: 30, perWaiting: 10, tpot: 40, tpotPerInFlight: 6 };

function truth(s: System, tokens: number, hit: number, inFlight: number, waiting: number): { ttftMs: number; tpotMs: number } {
  return { ttftMs: s.base + (s.perKiloToken * tokens * (1 - hit)) / 1000 + s.perInFlight * inFlight + s.perWaiting * waiting, tpotMs: s.tpot + s.tpotPerInFlight * inFlight };
}

function train(model: LatencyModel, s: System, random: () => number, n: number, startMs = 0): number {
  const x = new Float64Array(FEATURE_COUNT);
  let t = startMs;
  for (let i = 0; i < n; i++) {
    const tokens = Math.floor(random() * 8000);
    const hit = random() < 0.5 ? 0 : random();
    const inFlight = Math.floor(random() * 10);
    const waiting = Math.floor(random() * 4);
    expect(writeFeatures(x, tokens, hit, inFlight, inFlight * 1500, waiting, random())).toBe(true);
    model.learn(x, truth(s, tokens, hit, inFlight, waiting), (t += 100));
  }
  return t;
}

function predictAt(model: LatencyModel, tokens: number, inFlight: number, waiting: number): { ttft: number | undefined; tpot: number | undefined } {
  const x = new Float64Array(FEATURE_COUNT);
  writeFeatures(x, tokens, 0, inFlight, inFlight * 1500, waiting, 0.5);
  return { ttft: model.predict('ttft', x), tpot: model.predict('tpot', x) };
}

describe('LatencyModel', () => {
  it('learns a synthetic linear system and predicts unseen loads', () => {
    const model = new LatencyModel(new TargetStats());
    train(model, systemA, seededRandom(11), 300);
    for (const [tokens, inFlight, waiting] of [[100, 0, 0], [6000, 3, 1], [2000, 8, 3]] as const) {
      const want = truth(systemA, tokens, 0, inFlight, waiting);
      const got = predictAt(model, tokens, inFlight, waiting);
      expect(got.ttft).toBeCloseTo(want.ttftMs, 0);
      expect(got.tpot).toBeCloseTo(want.tpotMs, 0);
    }
  });

  it('tracks a change of the system within tens of samples (forgetting)', () => {
    const model = new LatencyModel(new TargetStats());
    const random = seededRandom(12);
    const t = train(model, systemA, random, 300);
    train(model, systemB, random, 150, t);
    const want = truth(systemB, 4000, 0, 5, 2);
    const got = predictAt(model, 4000, 5, 2);
    expect(Math.abs(got.ttft! - want.ttftMs) / want.ttftMs).toBeLessThan(0.02);
    expect(Math.abs(got.tpot! - want.tpotMs) / want.tpotMs).toBeLessThan(0.02);
  });

  it('falls back to the decayed averages until it has MIN_SAMPLES, and knows nothing of a never-measured target', () => {
    const stats = new TargetStats();
    const model = new LatencyModel(stats);
    expect(predictAt(model, 1000, 0, 0)).toEqual({ ttft: undefined, tpot: undefined });
    stats.observe({ endMs: 0, outcome: 'success', stream: true, durationMs: 300 + 9 * 20, ttftMs: 300, outputTokens: 10 });
    expect(predictAt(model, 1000, 0, 0)).toEqual({ ttft: 300, tpot: 20 });
    train(model, systemA, seededRandom(13), MIN_SAMPLES - 1);
    expect(predictAt(model, 1000, 0, 0).ttft).toBe(300);
    train(model, systemA, seededRandom(14), 1);
    expect(predictAt(model, 1000, 0, 0).ttft).not.toBe(300);
  });

  it('is not poisoned by NaN, infinite, negative or absurd samples', () => {
    const model = new LatencyModel(new TargetStats());
    const t = train(model, systemA, seededRandom(15), 200);
    const before = predictAt(model, 3000, 2, 1);
    const x = new Float64Array(FEATURE_COUNT);
    expect(writeFeatures(x, Number.NaN, 0, 1, 0, undefined, undefined)).toBe(false);
    expect(writeFeatures(x, 100, 1.5, 1, 0, undefined, undefined)).toBe(false);
    expect(writeFeatures(x, 100, 0, -1, 0, undefined, undefined)).toBe(false);
    expect(writeFeatures(x, 100, 0, 1, 0, Number.POSITIVE_INFINITY, undefined)).toBe(false);
    expect(writeFeatures(x, 1e12, 0, 1, 0, undefined, undefined)).toBe(false);
    writeFeatures(x, 3000, 0, 2, 3000, 1, 0.5);
    model.learn(undefined, { ttftMs: 5, tpotMs: 5 }, t + 1);
    model.learn(x, { ttftMs: Number.NaN, tpotMs: Number.POSITIVE_INFINITY }, t + 2);
    model.learn(x, { ttftMs: -50, tpotMs: -1 }, t + 3);
    model.learn(x, { ttftMs: 1e12, tpotMs: 1e9 }, Number.NaN);
    expect(predictAt(model, 3000, 2, 1)).toEqual(before);
    expect(model.lastSampleMs).toBe(t + 3);
  });

  it('clamps predictions to [0, max]: an extrapolation below zero is 0', () => {
    const model = new LatencyModel(new TargetStats());
    const x = new Float64Array(FEATURE_COUNT);
    const random = seededRandom(16);
    for (let i = 0; i < 100; i++) {
      const tokens = 1000 + Math.floor(random() * 7000);
      writeFeatures(x, tokens, 0, 0, 0, undefined, undefined);
      model.learn(x, { ttftMs: (100 * tokens) / 1000 - 300, tpotMs: 10 }, i);
    }
    expect(predictAt(model, 0, 0, 0).ttft).toBe(0);
  });

  it('never predicts less latency for more load, whatever a confounded fit learned', () => {
    const model = new LatencyModel(new TargetStats());
    const x = new Float64Array(FEATURE_COUNT);
    const random = seededRandom(17);
    // Samples where more in flight came with faster answers (the busiest moments of the fastest
    // deployment, as greedy routing sees them): the fit learns a negative weight for load.
    for (let i = 0; i < 100; i++) {
      const inFlight = Math.floor(random() * 5);
      writeFeatures(x, 1000, 0, inFlight, 0, undefined, undefined);
      model.learn(x, { ttftMs: 500 - 80 * inFlight, tpotMs: 10 }, i);
    }
    const idle = predictAt(model, 1000, 0, 0).ttft!;
    expect(predictAt(model, 1000, 4, 0).ttft).toBeGreaterThanOrEqual(idle);
    expect(predictAt(model, 1000, 50, 0).ttft).toBeGreaterThanOrEqual(idle);
  });

  it('drops what it learned when a sample comes after more than STALE_AFTER_MS without one', () => {
    const model = new LatencyModel(new TargetStats());
    const t = train(model, systemA, seededRandom(17), 50);
    expect(model.samples('ttft')).toBe(50);
    train(model, systemA, seededRandom(18), 1, t + STALE_AFTER_MS);
    expect(model.samples('ttft')).toBe(1);
    expect(model.samples('tpot')).toBe(1);
  });
});
