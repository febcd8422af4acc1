import { describe, expect, it } from 'vitest';
import { formatResetDuration } from './rate-limit-headers.js';

/** Parses a Go duration such as "1h2m3.5s" or "12ms" into ms, checking it is in canonical form. */
function parseGoDuration(s: string): number {
  const ms = /^(\d+)ms$/.exec(s);
  if (ms) return Number(ms[1]);
  const m = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+(?:\.\d+)?)s)$/.exec(s);
  if (!m) throw new Error(`not a Go duration: ${s}`);
  const [h, min, sec] = [Number(m[1] ?? 0), Number(m[2] ?? 0), Number(m[3])];
  if (m[1] !== undefined && min >= 60) throw new Error(`minutes out of range in ${s}`);
  if ((m[1] !== undefined || m[2] !== undefined) && sec >= 60) throw new Error(`seconds out of range in ${s}`);
  return Math.round(((h * 60 + min) * 60 + sec) * 1000);
}

describe('formatResetDuration', () => {
  it.each([
    { ms: 0, out: '0ms' },
    { ms: -5, out: '0ms' },
    { ms: 1, out: '1ms' },
    { ms: 0.2, out: '1ms' },
    { ms: 12, out: '12ms' },
    { ms: 12.1, out: '13ms' },
    { ms: 999, out: '999ms' },
    { ms: 999.5, out: '1s' },
    { ms: 1000, out: '1s' },
    { ms: 1500, out: '1.5s' },
    { ms: 1234, out: '1.234s' },
    { ms: 6_300, out: '6.3s' },
    { ms: 59_999, out: '59.999s' },
    { ms: 60_000, out: '1m0s' },
    { ms: 61_000, out: '1m1s' },
    { ms: 360_000, out: '6m0s' },
    { ms: 3_599_000, out: '59m59s' },
    { ms: 3_600_000, out: '1h0m0s' },
    { ms: 3_661_000, out: '1h1m1s' },
    { ms: 90_000_000, out: '25h0m0s' },
  ])('$ms → $out', ({ ms, out }) => {
    expect(formatResetDuration(ms)).toBe(out);
  });

  it('round-trips through a Go duration parser below a minute', () => {
    for (let ms = 0; ms < 60_000; ms += 37) {
      expect(parseGoDuration(formatResetDuration(ms))).toBe(ms);
    }
  });

  // BUG (rate-limit-headers.ts:12-13): above a minute the seconds are rounded with Math.round
  // after the minutes were floored, so 119.6 s prints "1m60s" and 3599.6 s prints "59m60s"
  // (Go never prints 60 seconds; the carry into minutes/hours is missing).
  it.each([119_600, 3_599_600, 7_199_999])('%d ms stays canonical (seconds < 60) and within 1 s', (ms) => {
    const out = formatResetDuration(ms);
    expect(Math.abs(parseGoDuration(out) - ms)).toBeLessThan(1000);
  });

  it('is canonical and within 1 s for minutes and hours (values without the carry problem)', () => {
    for (let ms = 60_000; ms < 10_000_000; ms += 60_013) {
      if (ms % 60_000 >= 59_500) continue; // the it.fails case above
      const out = formatResetDuration(ms);
      expect(Math.abs(parseGoDuration(out) - ms)).toBeLessThanOrEqual(500);
    }
  });
});

describe('formatResetDuration bounds', () => {
  it('renders absurd and non-numeric waits as a short valid duration (a bucket in 1e300 debt)', () => {
    expect(formatResetDuration(1e302)).toBe('8760h0m0s');
    expect(formatResetDuration(Infinity)).toBe('8760h0m0s');
    expect(formatResetDuration(Number.NaN)).toBe('0ms');
  });
});
