import { pino } from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { HourlyJob } from './hourly-job.js';

const silent = { logger: pino({ level: 'silent' }), message: 'job failed' };

describe('HourlyJob', () => {
  afterEach(() => void vi.useRealTimers());

  it('runs a minute after start, then hourly, and not after close', async () => {
    vi.useFakeTimers();
    let runs = 0;
    const job = new HourlyJob(async () => void runs++, silent);
    job.start();
    await vi.advanceTimersByTimeAsync(59_999);
    expect(runs).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(runs).toBe(1);
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(runs).toBe(2);
    await job.close();
    await vi.advanceTimersByTimeAsync(10 * 3_600_000);
    expect(runs).toBe(2);
  });

  it('one run at a time: a run asked for during one joins it, and close waits for it', async () => {
    let release: () => void = () => undefined;
    let runs = 0;
    const job = new HourlyJob(() => {
      runs++;
      return new Promise<void>((resolve) => (release = resolve));
    }, silent);
    const first = job.run();
    const second = job.run();
    expect(second).toBe(first);
    expect(runs).toBe(1);
    let closed = false;
    const closing = job.close().then(() => (closed = true));
    await Promise.resolve();
    expect(closed).toBe(false);
    release();
    await closing;
    expect(closed).toBe(true);
    const third = job.run();
    expect(runs).toBe(2);
    release();
    await third;
  });

  it('a failing run is logged with its message, never thrown', async () => {
    const lines: string[] = [];
    const job = new HourlyJob(() => Promise.reject(new Error('database gone')), { logger: pino({ level: 'warn' }, { write: (l: string) => void lines.push(l) }), message: 'cleanup failed; tried again within the hour' });
    await expect(job.run()).resolves.toBeUndefined();
    expect(lines.join('')).toMatch(/cleanup failed; tried again within the hour/);
    expect(lines.join('')).toMatch(/database gone/);
  });
});
