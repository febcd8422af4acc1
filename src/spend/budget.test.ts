import { describe, expect, it } from 'vitest';
import { budgetRules, describeBudget, windowOf } from './budget.js';

describe('budget windows (UTC)', () => {
  const at = (iso: string) => Date.parse(iso);

  it('daily: 00:00 to 00:00 UTC, the last millisecond still in the day', () => {
    expect(windowOf('daily', at('2026-12-05T23:59:59.999Z'))).toEqual({ id: 'd2026-12-05', startMs: at('2026-12-05T00:00:00Z'), endMs: at('2026-12-06T00:00:00Z') });
    expect(windowOf('daily', at('2026-12-06T00:00:00.000Z')).id).toBe('d2026-12-06');
  });

  it('weekly: from Monday 00:00 UTC, whatever the weekday', () => {
    // 2026-11-30 is a Monday; 2026-12-06 a Sunday.
    for (const day of ['2026-11-30T00:00:00Z', '2026-12-03T12:00:00Z', '2026-12-06T23:59:59.999Z']) {
      expect(windowOf('weekly', at(day))).toEqual({ id: 'w2026-11-30', startMs: at('2026-11-30T00:00:00Z'), endMs: at('2026-12-07T00:00:00Z') });
    }
    expect(windowOf('weekly', at('2026-12-07T00:00:00Z')).id).toBe('w2026-12-07');
    // Across a year end: 2027-01-01 is a Friday, its week began Monday 2026-12-28.
    expect(windowOf('weekly', at('2027-01-01T10:00:00Z')).id).toBe('w2026-12-28');
  });

  it('monthly: the calendar month in UTC, including February of a leap year', () => {
    expect(windowOf('monthly', at('2028-02-29T23:00:00Z'))).toEqual({ id: 'm2028-02-01', startMs: at('2028-02-01T00:00:00Z'), endMs: at('2028-03-01T00:00:00Z') });
    expect(windowOf('monthly', at('2026-12-31T23:59:59.999Z')).endMs).toBe(at('2027-01-01T00:00:00Z'));
  });

  it('lifetime: one window that never ends', () => {
    expect(windowOf('lifetime', at('2026-12-05T00:00:00Z'))).toEqual({ id: 'life', startMs: 0, endMs: undefined });
  });

  it('rules carry exact picodollars and their scope; messages name them', () => {
    const [r] = budgetRules('team:acme', [{ period: 'daily', limitUsd: '1.00', softLimitUsd: 0.8 }]);
    expect(r).toEqual({ scope: 'team:acme', period: 'daily', limitPico: 1_000_000_000_000n, softLimitPico: 800_000_000_000n });
    expect(describeBudget(r!)).toBe("team 'acme' daily");
    expect(describeBudget({ scope: 'key:key_1', period: 'monthly' })).toBe('key key_1 monthly');
  });
});
