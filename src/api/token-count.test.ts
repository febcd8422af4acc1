import { describe, expect, it, vi } from 'vitest';
import { tiktoken } from '../lazy-packages.js';
import { countPromptTokens, countTextsTokens, countTokens, maxCountedChars } from './token-count.js';

/** Characters and calls the tokenizer is given while `run` runs. */
function tokenizerWork(run: () => void): { chars: number; calls: number } {
  const work = { chars: 0, calls: 0 };
  const proto = tiktoken().Tiktoken.prototype;
  const encode = proto.encode;
  vi.spyOn(proto, 'encode').mockImplementation(function (this: typeof proto, text: string, ...rest) {
    work.chars += text.length;
    work.calls += 1;
    return encode.call(this, text, ...rest);
  });
  try {
    run();
  } finally {
    vi.restoreAllMocks();
  }
  return work;
}

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

  it('bounds the work per request, not per message: a 10 MB prompt in 16K-character messages (issue 9 §2)', () => {
    countTokens('warm');
    for (const content of ['x'.repeat(16 * 1024), 'The quick brown fox jumps over the lazy dog. '.repeat(364), '漢字かな交じり文'.repeat(2048)]) {
      const messages = Array.from({ length: 640 }, () => ({ role: 'user' as const, content }));
      let count = 0;
      const work = tokenizerWork(() => (count = countPromptTokens(messages)));
      // Main gave the tokenizer every message up to 16K characters each: 10 M characters here.
      expect(work.chars).toBeLessThanOrEqual(maxCountedChars + 1024);
      expect(work.calls).toBeLessThanOrEqual(256 + 1024);
      // Extrapolated, in proportion to one message counted exactly.
      const one = countTokens(content);
      expect(count).toBeGreaterThan(3 + 640 * (3 + one * 0.9));
      expect(count).toBeLessThan(3 + 640 * (3 + one * 1.1));
    }
  });

  it('counts many texts as one budget, spread over all of them', () => {
    const prose = 'The quick brown fox jumps over the lazy dog. ';
    const code = 'function f(x) { return x * 2; }\n';
    // A long prose system prompt, then as much code: a sample of the first part alone would miss the second.
    const texts = [prose.repeat(2_000), code.repeat(3_000)];
    const expected = 2_000 * countTokens(prose) + 3_000 * countTokens(code);
    const work = tokenizerWork(() => {
      const n = countTextsTokens(texts);
      expect(n / expected).toBeGreaterThan(0.93);
      expect(n / expected).toBeLessThan(1.07);
    });
    expect(work.chars).toBeLessThanOrEqual(maxCountedChars + 1024);
  });

  it('extrapolates a retained start to the length of the whole text', () => {
    const sentence = 'The quick brown fox jumps over the lazy dog. ';
    const start = sentence.repeat(100);
    expect(countTextsTokens([start], start.length * 10)).toBe(countTokens(start) * 10);
  });

  it('bounds CJK and emoji too (several UTF-8 bytes per character: shorter pieces)', () => {
    const work = tokenizerWork(() => countTokens('漢'.repeat(1_000_000) + '😀'.repeat(1_000_000)));
    expect(work.chars).toBeLessThanOrEqual(maxCountedChars + 1024);
    expect(work.calls).toBeLessThanOrEqual(256 + 1024);
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
