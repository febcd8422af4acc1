/**
 * A slow Redis is not a dead Redis (issue 9 §5, B1): a command waits for its reply while the
 * connection is alive, however late; a reply that arrived while the event loop was blocked is
 * taken; only a connection with commands waiting and no reply at all for `stallMs` (loop time),
 * or one that closes, is dead, and that one event opens the breaker and fails every waiting call.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { redisSettings, SHARED_REDIS_URL, sharedRedisAvailable, uniquePrefix } from '../../test/helpers/redis.js';
import { RedisConnection } from './redis-connection.js';
import { StateUnavailableError } from './state-errors.js';

const available = await sharedRedisAvailable();

/** Blocks the event loop (what a busy gateway or a descheduled process looks like to a timer). */
function blockLoop(ms: number): void {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    // spin
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe.skipIf(!available)('RedisConnection liveness', () => {
  const failures: string[] = [];
  const transitions: string[] = [];
  const conns: RedisConnection[] = [];
  const connect = (over: Record<string, unknown> = {}): RedisConnection => {
    const c = new RedisConnection(redisSettings(SHARED_REDIS_URL, { keyPrefix: uniquePrefix('liveness'), ...over }), systemClock, {
      onFailure: (r) => failures.push(r),
      onBreakerTransition: (from, to) => transitions.push(`${from}->${to}`),
    });
    conns.push(c);
    return c;
  };
  afterAll(async () => {
    for (const c of conns) await c.close();
  });

  it('B1: a reply that arrived while the event loop was blocked past stallMs is used, and the breaker stays closed', async () => {
    const conn = connect();
    expect(await conn.waitReady(5_000)).toBe(true);
    for (let i = 0; i < 3; i++) {
      const call = conn.call((c) => c.ping());
      // Redis answers within a few ms; this process looks at its socket only 1.2 s later.
      blockLoop(1_200);
      await expect(call).resolves.toBe('PONG');
    }
    expect(conn.breakerState).toBe('closed');
  });

  it('B1: a reply late by 4× the old 200 ms bound, on a connection that keeps answering, is waited for: not a failure', async () => {
    const conn = connect({ stallMs: 300 });
    expect(await conn.waitReady(5_000)).toBe(true);
    failures.length = 0;
    // Other commands are answered meanwhile: the connection is alive, only this reply is slow.
    let answering = true;
    const pings = (async () => {
      while (answering) {
        await conn.call((c) => c.ping());
        await sleep(20);
      }
    })();
    const value = await conn.call(() => sleep(800).then(() => 'late'));
    answering = false;
    await pings;
    expect(value).toBe('late');
    expect(failures).toEqual([]);
    expect(conn.breakerState).toBe('closed');
  });

  it('B1: a stalled connection (no reply for stallMs) opens the breaker at once and fails every waiting call; later calls do not wait', async () => {
    const conn = connect({ stallMs: 200, breaker: { failureThreshold: 3, openMs: 60_000, maxOpenMs: 60_000 } });
    expect(await conn.waitReady(5_000)).toBe(true);
    transitions.length = 0;
    failures.length = 0;
    // Five commands Redis never answers (what a hung or black-holed Redis looks like).
    const errs = await Promise.all(Array.from({ length: 5 }, () => conn.call(() => new Promise<never>(() => undefined)).catch((e: unknown) => e)));
    for (const err of errs) {
      expect(err).toBeInstanceOf(StateUnavailableError);
      expect((err as StateUnavailableError).reason).toBe('timeout');
      // Sent but unanswered: the outcome is unknown, so it is handed over for reconciliation.
      expect((err as StateUnavailableError).late).toBeDefined();
    }
    // One event, one transition: not five failures counted one by one.
    expect(transitions).toEqual(['closed->open']);
    expect(failures.filter((f) => f === 'timeout')).toHaveLength(5);
    const started = performance.now();
    const refused = await conn.call((c) => c.ping()).catch((e: unknown) => e);
    expect((refused as StateUnavailableError).reason).toBe('breaker_open');
    expect((refused as StateUnavailableError).retryAfterMs).toBeGreaterThan(1_000);
    expect(performance.now() - started).toBeLessThan(1_000); // refused at once, never sent
  });

  it('a connection that closes opens the breaker at once, and the breaker closes again after it reconnects', async () => {
    const conn = connect({ breaker: { failureThreshold: 3, openMs: 200, maxOpenMs: 200 } });
    expect(await conn.waitReady(5_000)).toBe(true);
    transitions.length = 0;
    // Dropped by the peer (as when Redis restarts): ioredis reconnects by itself.
    const id = Number(await conn.call((c) => (c as import('ioredis').Redis).client('ID')));
    const { adminClient } = await import('../../test/helpers/redis.js');
    const admin = adminClient();
    await admin.client('KILL', 'ID', String(id));
    admin.disconnect();
    for (let i = 0; i < 50 && conn.breakerState !== 'open' && !transitions.includes('closed->open'); i++) await sleep(20);
    expect(transitions[0]).toBe('closed->open');
    let value: unknown;
    for (let i = 0; i < 100 && value !== 'PONG'; i++) {
      await sleep(50);
      value = await conn.call((c) => c.ping()).catch(() => undefined);
    }
    expect(value).toBe('PONG');
    expect(conn.breakerState).toBe('closed');
  });
});
