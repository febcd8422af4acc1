import { describe, expect, it } from 'vitest';
import { countPromptTokens, countTokens } from './token-count.js';

describe('countTokens (cl100k_base)', () => {
  it('counts known strings exactly', () => {
    expect(countTokens('')).toBe(0);
    expect(countTokens('hello world')).toBe(2);
    // "The quick brown fox jumps over the lazy dog." is 10 cl100k tokens.
    expect(countTokens('The quick brown fox jumps over the lazy dog.')).toBe(10);
  });

  it('counts special-token text in user input as ordinary text instead of throwing', () => {
    expect(countTokens('hi <|endoftext|> there')).toBeGreaterThan(3);
  });

  it('bounds the work on pathological runs (one 100 KB "word") and stays proportional', () => {
    // Unbounded, js-tiktoken needs minutes for this; sliced, it is a few thousand small merges.
    const n = countTokens('a'.repeat(100_000));
    expect(n).toBeGreaterThan(100_000 / 16);
    expect(n).toBeLessThan(100_000);
    expect(countTokens(' '.repeat(5_000))).toBeGreaterThan(0);
  });

  it('extrapolates past 16 Ki characters instead of counting everything', () => {
    const sentence = 'The quick brown fox jumps over the lazy dog. ';
    const long = sentence.repeat(4_000); // 180 KB
    const perSentence = countTokens(sentence.repeat(100)) / 100;
    expect(countTokens(long) / 4_000).toBeCloseTo(perSentence, 0);
  });

  it('prompt framing: 3 per message, +1 for a name, +3 to prime the reply', () => {
    const text = 'hello world';
    expect(countPromptTokens([{ role: 'user', content: text }])).toBe(3 + 3 + 2);
    expect(countPromptTokens([{ role: 'user', content: text, name: 'a' }, { role: 'system', content: [{ type: 'text', text }] }])).toBe(3 + (3 + 2 + 1) + (3 + 2));
  });
});
