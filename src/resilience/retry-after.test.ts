import { describe, it, expect } from 'vitest';
import { formatRetryAfterMs, formatRetryAfterSeconds, maxClientWaitMs, parseHttpDateMs, parseRetryAfterMs } from './retry-after.js';

// 2023-11-14T22:13:20.000Z
const NOW = 1_700_000_000_000;

function headers(values: Record<string, string>): (name: string) => string | undefined {
  return (name) => values[name];
}

function parse(values: Record<string, string>, now = NOW): number | undefined {
  return parseRetryAfterMs(headers(values), now);
}

const GARBAGE = ['', '   ', 'soon', '-1', '-0.5', 'NaN', 'Infinity', '1e3', '0x10', '1,5', '2 s',
  '1.2.3', '9'.repeat(400), 'Sun, 31 Feb 2023 10:00:00 GMT', 'Tue, 14 Nov 2023 25:00:00 GMT',
  'Tue, 14 Foo 2023 10:00:00 GMT', '2023-11-14T22:13:30Z'];

describe('parseRetryAfterMs (F-05)', () => {
  it('F-05: reads retry-after-ms as float milliseconds', () => {
    expect(parse({ 'retry-after-ms': '1500' })).toBe(1500);
    expect(parse({ 'retry-after-ms': '12.75' })).toBe(12.75);
    expect(parse({ 'retry-after-ms': ' 0 ' })).toBe(0);
  });

  it('F-05: reads x-ms-retry-after-ms when retry-after-ms is absent', () => {
    expect(parse({ 'x-ms-retry-after-ms': '250.5' })).toBe(250.5);
  });

  it('F-05: reads retry-after as integer or decimal seconds', () => {
    expect(parse({ 'retry-after': '1' })).toBe(1000);
    expect(parse({ 'retry-after': '2.5' })).toBe(2500);
    expect(parse({ 'retry-after': '.5' })).toBe(500);
    expect(parse({ 'retry-after': '120' })).toBe(120_000);
  });

  it('F-05: reads retry-after as an IMF-fixdate relative to now', () => {
    expect(parse({ 'retry-after': 'Tue, 14 Nov 2023 22:13:30 GMT' })).toBe(10_000);
    expect(parse({ 'retry-after': 'tue, 14 nov 2023 22:15:20 gmt' })).toBe(120_000);
  });

  it('F-05: reads the obsolete RFC 850 and asctime date forms', () => {
    expect(parse({ 'retry-after': 'Tuesday, 14-Nov-23 22:13:25 GMT' })).toBe(5_000);
    expect(parse({ 'retry-after': 'Tue Nov 14 22:13:21 2023' })).toBe(1_000);
    const early = Date.UTC(2023, 10, 2, 0, 0, 0);
    expect(parse({ 'retry-after': 'Thu Nov  2 00:00:05 2023' }, early)).toBe(5_000);
  });

  it('F-05: a date in the past gives 0, never a negative wait', () => {
    expect(parse({ 'retry-after': 'Sun, 06 Nov 1994 08:49:37 GMT' })).toBe(0);
    expect(parse({ 'retry-after': 'Sunday, 06-Nov-94 08:49:37 GMT' })).toBe(0);
  });

  it('F-05: prefers retry-after-ms, then x-ms-retry-after-ms, then retry-after', () => {
    const all = { 'retry-after-ms': '10', 'x-ms-retry-after-ms': '20', 'retry-after': '30' };
    expect(parse(all)).toBe(10);
    expect(parse({ 'x-ms-retry-after-ms': '20', 'retry-after': '30' })).toBe(20);
  });

  it('F-05: garbage in any header falls through to the next one', () => {
    for (const bad of GARBAGE) {
      expect(parse({ 'retry-after-ms': bad, 'x-ms-retry-after-ms': '20' }), bad).toBe(20);
      expect(parse({ 'x-ms-retry-after-ms': bad, 'retry-after': '3' }), bad).toBe(3000);
    }
  });

  it('F-05: garbage everywhere (or no header) gives undefined so the caller backs off', () => {
    expect(parse({})).toBeUndefined();
    for (const bad of GARBAGE) {
      const all = { 'retry-after-ms': bad, 'x-ms-retry-after-ms': bad, 'retry-after': bad };
      expect(parse(all), bad).toBeUndefined();
    }
  });

  it('F-05: every defined result is finite and non-negative', () => {
    const samples = ['0', '1', '1.5', '99999999999', 'Tue, 14 Nov 2023 22:13:30 GMT',
      'Fri, 31 Dec 9999 23:59:59 GMT', 'Mon, 01 Jan 1900 00:00:00 GMT', ...GARBAGE];
    for (const name of ['retry-after-ms', 'x-ms-retry-after-ms', 'retry-after']) {
      for (const value of samples) {
        const ms = parse({ [name]: value });
        if (ms !== undefined) {
          expect(Number.isFinite(ms), `${name}: ${value}`).toBe(true);
          expect(ms).toBeGreaterThanOrEqual(0);
        }
      }
    }
  });

  it('F-05: a non-finite "now" cannot turn a date into NaN', () => {
    expect(parse({ 'retry-after': 'Tue, 14 Nov 2023 22:13:30 GMT' }, Number.NaN)).toBeUndefined();
  });
});

describe('parseHttpDateMs', () => {
  it('resolves two-digit years to within 50 years of now (RFC 9110)', () => {
    const in2023 = NOW;
    // 2074 would be 51 years ahead of 2023, so "74" is 1974; "73" (50 years ahead) stays 2073.
    expect(parseHttpDateMs('Tuesday, 01-Jan-74 00:00:00 GMT', in2023)).toBe(Date.UTC(1974, 0, 1));
    expect(parseHttpDateMs('Sunday, 01-Jan-73 00:00:00 GMT', in2023)).toBe(Date.UTC(2073, 0, 1));
    expect(parseHttpDateMs('Saturday, 01-Jan-50 00:00:00 GMT', in2023)).toBe(Date.UTC(2050, 0, 1));
  });

  it('accepts a leap second without rolling over', () => {
    expect(parseHttpDateMs('Sat, 31 Dec 2016 23:59:60 GMT', NOW)).toBe(
      Date.UTC(2016, 11, 31, 23, 59, 59),
    );
  });
});

describe('parseRetryAfterMs bounds', () => {
  it('reads any wait beyond an hour as an hour: seconds, ms and far-future HTTP-dates', () => {
    expect(parseRetryAfterMs(headers({ 'retry-after': '99999999' }), NOW)).toBe(maxClientWaitMs);
    expect(parseRetryAfterMs(headers({ 'retry-after-ms': '1000000000000000' }), NOW)).toBe(maxClientWaitMs);
    expect(parseRetryAfterMs(headers({ 'retry-after': 'Fri, 01 Jan 2100 00:00:00 GMT' }), NOW)).toBe(maxClientWaitMs);
    expect(parseRetryAfterMs(headers({ 'retry-after': '120' }), NOW)).toBe(120_000);
  });
});

describe('formatRetryAfterSeconds', () => {
  it('rounds up to whole seconds with a minimum of 1 for any positive wait', () => {
    expect(formatRetryAfterSeconds(1)).toBe('1');
    expect(formatRetryAfterSeconds(999)).toBe('1');
    expect(formatRetryAfterSeconds(1000)).toBe('1');
    expect(formatRetryAfterSeconds(1001)).toBe('2');
    expect(formatRetryAfterSeconds(0.001)).toBe('1');
    expect(formatRetryAfterSeconds(120_000)).toBe('120');
  });

  it('gives "0" for zero, negative and NaN waits', () => {
    expect(formatRetryAfterSeconds(0)).toBe('0');
    expect(formatRetryAfterSeconds(-5)).toBe('0');
    expect(formatRetryAfterSeconds(Number.NaN)).toBe('0');
  });

  it('keeps Infinity numeric', () => {
    expect(formatRetryAfterSeconds(Infinity)).toMatch(/^\d+$/);
  });

  it('never says more than maxClientWaitMs, however large the wait (1e302 ms was "1e+299")', () => {
    expect(formatRetryAfterSeconds(1e302)).toBe(String(maxClientWaitMs / 1000));
    expect(formatRetryAfterSeconds(Infinity)).toBe(String(maxClientWaitMs / 1000));
    expect(formatRetryAfterMs(1e302)).toBe(String(maxClientWaitMs));
    expect(formatRetryAfterMs(Number.NaN)).toBe('0');
    expect(formatRetryAfterMs(1.2)).toBe('2');
  });

  it('round-trips through parseRetryAfterMs without ever shortening the wait', () => {
    for (const ms of [1, 10, 999, 1000, 1001, 4321, 59_999]) {
      const back = parse({ 'retry-after': formatRetryAfterSeconds(ms) });
      expect(back).toBeGreaterThanOrEqual(ms);
      expect(back).toBeLessThan(ms + 1000);
    }
  });
});
