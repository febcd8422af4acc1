import { describe, expect, it } from 'vitest';
import { SaveBreaker } from './save-breaker.js';

describe('SaveBreaker', () => {
  it('tries every save while they succeed; after a failure skips for the cooldown, then lets one probe through', () => {
    let now = 0;
    const b = new SaveBreaker({ nowMs: () => now }, 1_000);
    expect([b.tryNow(), b.tryNow()]).toEqual([true, true]);
    b.failed();
    now = 999;
    expect(b.tryNow()).toBe(false);
    now = 1_000;
    // The probe goes; the others skip while it runs.
    expect([b.tryNow(), b.tryNow()]).toEqual([true, false]);
    b.failed();
    now = 1_500;
    expect(b.tryNow()).toBe(false);
    now = 2_000;
    expect(b.tryNow()).toBe(true);
    b.succeeded();
    expect([b.tryNow(), b.tryNow()]).toEqual([true, true]);
  });
});
