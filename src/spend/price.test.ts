import { describe, expect, it } from 'vitest';
import type { UsageRecord } from '../api/chat-types.js';
import { formatUsd, perMillionToPicoPerToken, usdToPico } from './money.js';
import { costOf, priceFromPerMillion, worstCaseCost } from './price.js';

const usage = (u: Partial<UsageRecord>): UsageRecord => ({ promptTokens: 0, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0, estimated: false, ...u });

describe('money', () => {
  it('parses dollar amounts exactly, as written', () => {
    expect(usdToPico('1.00')).toBe(1_000_000_000_000n);
    expect(usdToPico(0.1)).toBe(100_000_000_000n);
    expect(usdToPico('0.000000000001')).toBe(1n);
    expect(usdToPico(1e-7)).toBe(100_000n);
    expect(() => usdToPico('0.0000000000001')).toThrow(RangeError);
    expect(() => usdToPico(-1)).toThrow(RangeError);
    expect(() => usdToPico('1e3')).toThrow(RangeError);
  });

  it('turns a price per million tokens into whole picodollars per token, refusing inexact ones', () => {
    expect(perMillionToPicoPerToken(2.5)).toBe(2_500_000);
    expect(perMillionToPicoPerToken('0.0375')).toBe(37_500);
    expect(perMillionToPicoPerToken(0)).toBe(0);
    expect(() => perMillionToPicoPerToken('0.0000001')).toThrow(/6 decimal places/);
  });

  it('formats picodollars as dollars without float drift', () => {
    expect(formatUsd(0)).toBe('0.00');
    expect(formatUsd(1_500_000_000_000n)).toBe('1.50');
    expect(formatUsd(420_000_000)).toBe('0.00042');
    expect(formatUsd(1)).toBe('0.000000000001');
    expect(formatUsd(-2_000_000_000_000n)).toBe('-2.00');
    // A billion requests of 0.1 cents each sum to exactly one million dollars.
    expect(formatUsd(1_000_000_000n * usdToPico('0.001'))).toBe('1000000.00');
  });
});

describe('costOf', () => {
  const gpt = priceFromPerMillion({ input: 2.5, output: 10, cachedInput: 1.25 });
  const claude = priceFromPerMillion({ input: 3, output: 15, cachedInput: '0.3', cacheWrite: '3.75' });

  it('charges uncached input, cached input and output at their own rates', () => {
    // 1,000 prompt tokens of which 400 cached, 200 output: 600×2.5 + 400×1.25 + 200×10 per M.
    expect(formatUsd(costOf(usage({ promptTokens: 1000, cachedTokens: 400, completionTokens: 200 }), gpt))).toBe('0.004');
  });

  it('charges Anthropic cache writes and reads apart from plain input', () => {
    const u = usage({ promptTokens: 3000, cachedTokens: 1000, cacheWriteTokens: 1000, completionTokens: 100 });
    // 1000×3 + 1000×0.3 + 1000×3.75 + 100×15 = 8,550 per M → $0.00855.
    expect(formatUsd(costOf(u, claude))).toBe('0.00855');
  });

  it('charges reasoning at the output rate unless it has its own', () => {
    const u = usage({ promptTokens: 10, completionTokens: 100, reasoningTokens: 60 });
    expect(costOf(u, gpt)).toBe(10 * 2_500_000 + 100 * 10_000_000);
    expect(costOf(u, { ...gpt, reasoning: 1 })).toBe(10 * 2_500_000 + 40 * 10_000_000 + 60);
  });

  it('never goes negative on counts that do not add up', () => {
    const u = usage({ promptTokens: 10, cachedTokens: 50, cacheWriteTokens: 50, completionTokens: 1, reasoningTokens: 9 });
    expect(costOf(u, claude)).toBe(10 * 300_000 + 15_000_000);
  });

  it('reserves the dearest rates as the worst case', () => {
    expect(worstCaseCost(1000, 100, claude)).toBe(1000 * 3_750_000 + 100 * 15_000_000);
  });
});
