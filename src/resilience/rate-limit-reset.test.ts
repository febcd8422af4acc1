import { describe, expect, it } from 'vitest';
import { parseDurationMs, parseRateLimitResetMs } from './rate-limit-reset.js';

const from = (values: Record<string, string>) => (name: string): string | undefined => values[name];

describe('parseDurationMs', () => {
  it.each([
    ['1s', 1000],
    ['20ms', 20],
    ['6m0s', 360_000],
    ['1h2m3.5s', 3_723_500],
    ['0.5s', 500],
    ['2m', 120_000],
    ['7', 7000],
  ])('%s → %d ms', (value, ms) => {
    expect(parseDurationMs(value)).toBe(ms);
  });

  it.each(['', ' ', 'soon', '-1s', '1x', 's', '1s2h', '1e3s', 'NaN'])('F-05: garbage %j → undefined', (value) => {
    expect(parseDurationMs(value)).toBeUndefined();
  });
});

describe('parseRateLimitResetMs', () => {
  it('uses the reset of the exhausted limit only', () => {
    const get = from({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '7s', 'x-ratelimit-remaining-tokens': '5000', 'x-ratelimit-reset-tokens': '6m0s' });
    expect(parseRateLimitResetMs(get)).toBe(7000);
  });

  it('takes the longer wait when both limits are exhausted', () => {
    const get = from({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '7s', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '12s' });
    expect(parseRateLimitResetMs(get)).toBe(12_000);
  });

  it('is undefined when no limit is reported exhausted, or its reset is unreadable', () => {
    expect(parseRateLimitResetMs(from({ 'x-ratelimit-remaining-requests': '3', 'x-ratelimit-reset-requests': '7s' }))).toBeUndefined();
    expect(parseRateLimitResetMs(from({ 'x-ratelimit-reset-tokens': '7s' }))).toBeUndefined();
    expect(parseRateLimitResetMs(from({ 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': 'later' }))).toBeUndefined();
    expect(parseRateLimitResetMs(from({}))).toBeUndefined();
  });
});

describe('parseRateLimitResetMs bounds', () => {
  it('reads a reset beyond an hour as an hour (a cooldown is then capped by retry.maxCooldownMs)', () => {
    const from = (h: Record<string, string>) => (name: string) => h[name];
    expect(parseRateLimitResetMs(from({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '99999h' }))).toBe(3_600_000);
  });
});
