import { afterEach, describe, expect, it, vi } from 'vitest';
import { systemClock } from '../clock.js';
import { SecurityAuditQueue } from './audit-queue.js';
import type { ControlDb } from './store/store.js';

describe('SecurityAuditQueue', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('retries a batch that could not be written, without waiting for another event', async () => {
    vi.useFakeTimers();
    const transaction = vi.fn().mockRejectedValueOnce(new Error('database away')).mockResolvedValue(undefined);
    const errors: Error[] = [];
    const queue = new SecurityAuditQueue(() => ({ transaction }) as unknown as ControlDb, systemClock, (err) => errors.push(err));
    queue.record({ actor: { id: 'anonymous', type: 'anonymous' }, action: 'auth.refused' });
    await vi.advanceTimersByTimeAsync(250);
    expect(transaction).toHaveBeenCalledTimes(1);
    expect(errors.map((e) => e.message)).toEqual(['database away']);
    // No new event: the queue tries again on its own.
    await vi.advanceTimersByTimeAsync(5_000);
    expect(transaction).toHaveBeenCalledTimes(2);
    // Written: nothing left to write at close.
    await queue.close();
    expect(transaction).toHaveBeenCalledTimes(2);
  });
});
