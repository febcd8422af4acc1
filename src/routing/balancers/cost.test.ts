import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock.js';
import { priceFromPerMillion, type Price } from '../../spend/price.js';
import { loadCandidate, observeTtft, type TestCandidate } from '../../testing/load-candidate.js';
import { CostBalancer as Cost } from './cost.js';

interface C extends TestCandidate {
  readonly name: string;
}

const c = (index: number, name: string, price: Price | undefined, extra: { latency?: number; contextWindow?: number } = {}): C => {
  const candidate = { ...loadCandidate(index, { price, contextWindow: extra.contextWindow }), name };
  if (extra.latency !== undefined) observeTtft(candidate, extra.latency, 0);
  return candidate;
};

// A random that never explores (least_latency's ε) and a clock at the samples' time, so a tie's
// answer is deterministic.
class CostBalancer extends Cost {
  constructor() {
    super(() => 0.5, new ManualClock());
  }
}

const cheapOutput = priceFromPerMillion({ input: 3, output: 1 });
const cheapInput = priceFromPerMillion({ input: 0.5, output: 8 });
const size = (promptTokens: number, outputTokens: number) => ({ promptTokens, outputTokens });

describe('CostBalancer', () => {
  it('prices this request: a long prompt goes to the cheap input, a long answer to the cheap output', () => {
    const b = new CostBalancer();
    const targets = [c(0, 'cheap-output', cheapOutput), c(1, 'cheap-input', cheapInput)];
    expect(b.pick(targets, size(10_000, 100))?.name).toBe('cheap-input');
    expect(b.pick(targets, size(100, 10_000))?.name).toBe('cheap-output');
  });

  it('never assumes an unpriced target is cheap, but uses it when it is all there is', () => {
    const b = new CostBalancer();
    expect(b.pick([c(0, 'unknown', undefined), c(1, 'dear', priceFromPerMillion({ input: 60, output: 120 }))], size(10, 10))?.name).toBe('dear');
    expect(b.pick([c(0, 'unknown', undefined)], size(10, 10))?.name).toBe('unknown');
  });

  it('skips a target whose context window cannot hold the request, unless none can', () => {
    const b = new CostBalancer();
    const small = c(0, 'small-cheap', priceFromPerMillion({ input: 0.1, output: 0.1 }), { contextWindow: 8_192 });
    const big = c(1, 'big-dear', priceFromPerMillion({ input: 5, output: 15 }), { contextWindow: 200_000 });
    expect(b.pick([small, big], size(8_000, 1_000))?.name).toBe('big-dear');
    expect(b.pick([small, big], size(1_000, 1_000))?.name).toBe('small-cheap');
    expect(b.pick([small], size(8_000, 1_000))?.name).toBe('small-cheap');
  });

  it('breaks a price tie by latency, trying an unmeasured target first', () => {
    const b = new CostBalancer();
    const same = priceFromPerMillion({ input: 1, output: 2 });
    expect(b.pick([c(0, 'slow', same, { latency: 900 }), c(1, 'fast', same, { latency: 100 })], size(10, 10))?.name).toBe('fast');
    expect(b.pick([c(0, 'slow', same, { latency: 900 }), c(1, 'new', same)], size(10, 10))?.name).toBe('new');
  });

  it('free (self-hosted at price 0) beats any paid target', () => {
    const b = new CostBalancer();
    expect(b.pick([c(0, 'paid', cheapInput), c(1, 'free', priceFromPerMillion({ input: 0, output: 0 }))], size(10, 10))?.name).toBe('free');
  });
});
