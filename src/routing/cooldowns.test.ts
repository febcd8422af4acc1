import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { defaultMaxCooldownMs } from '../config/schema.js';
import { MemoryCooldowns } from './cooldowns.js';

const clockAt = (nowMs: number): ManualClock => new ManualClock(nowMs);

describe('MemoryCooldowns', () => {
  it('caps a cooldown at maxCooldownMs (Retry-After: 99999999 once meant three years)', () => {
    const clock = clockAt(1_000);
    const c = new MemoryCooldowns(clock, 60_000);
    c.start('d', 99_999_999_000);
    expect(c.untilMs('d')).toBe(61_000);
  });

  it('defaults the cap to five minutes', () => {
    const c = new MemoryCooldowns(clockAt(0));
    c.start('d', Infinity);
    expect(c.untilMs('d')).toBe(defaultMaxCooldownMs);
  });

  it('starts nothing for NaN, zero or negative waits, and never shortens a cooldown', () => {
    const c = new MemoryCooldowns(clockAt(0), 60_000);
    for (const ms of [Number.NaN, 0, -5]) c.start('d', ms);
    expect(c.untilMs('d')).toBe(0);
    c.start('d', 30_000);
    c.start('d', 10_000);
    expect(c.untilMs('d')).toBe(30_000);
  });
});
