/**
 * The Lua reply decoders: the exact shapes the scripts return are taken, anything else is a
 * LuaReplyError naming the script (never a silently wrong decision).
 */
import { describe, expect, it } from 'vitest';
import type { LimitCheck } from '../ratelimit/limiter.js';
import { decodeAcquireReply, decodeBucketReply, decodeCountReply, LuaReplyError } from './lua-replies.js';
import type { RedisCommands } from './redis-commands.js';
import { RedisConcurrencyLimiter } from './redis-concurrency.js';
import { RedisRateLimiter } from './redis-rate-limiter.js';
import { StateUnavailableError } from './state-errors.js';

describe('decodeBucketReply', () => {
  it('decodes an admitted consume of two checks', () => {
    expect(decodeBucketReply([1, 0, 0, 0, 9, 100, 0, 60_000], 2)).toEqual({
      allowed: true,
      retryAfterMs: 0,
      rejected: 0,
      impossible: false,
      states: [
        { remaining: 9, resetMs: 100 },
        { remaining: 0, resetMs: 60_000 },
      ],
    });
  });

  it('decodes a rejection by the second check that no wait can satisfy', () => {
    const reply = decodeBucketReply([0, 1_500, 2, 1, 3, 10, 0, 1_500], 2);
    expect(reply).toMatchObject({ allowed: false, retryAfterMs: 1_500, rejected: 2, impossible: true });
  });

  it.each([
    ['not an array', 1],
    ['null', null],
    ['too short', [1, 0, 0, 0, 9]],
    ['too long', [1, 0, 0, 0, 9, 100, 7]],
    ['an empty array (the adjust reply)', []],
    ['a string value', [1, 0, 0, 0, '9', 100]],
    ['a fraction', [1, 0, 0, 0, 9.5, 100]],
    ['a negative value', [1, 0, 0, 0, -1, 100]],
    ['allowed not 0 or 1', [2, 0, 0, 0, 9, 100]],
    ['impossible not 0 or 1', [1, 0, 0, 3, 9, 100]],
    ['a rejected index past the checks', [0, 10, 2, 0, 9, 100]],
  ])('throws LuaReplyError on %s', (_what, reply) => {
    expect(() => decodeBucketReply(reply, 1)).toThrow(LuaReplyError);
    expect(() => decodeBucketReply(reply, 1)).toThrow(/token bucket script/);
  });
});

describe('decodeAcquireReply', () => {
  it('1 is a granted slot, 0 a refusal', () => {
    expect(decodeAcquireReply(1)).toBe(true);
    expect(decodeAcquireReply(0)).toBe(false);
  });

  it.each([[2], ['1'], [null], [[1]], [undefined]])('throws LuaReplyError on %j', (reply) => {
    expect(() => decodeAcquireReply(reply)).toThrow(/concurrency acquire script/);
  });
});

describe('decodeCountReply', () => {
  it('takes a non-negative integer', () => {
    expect(decodeCountReply('registry', 3)).toBe(3);
    expect(decodeCountReply('registry', 0)).toBe(0);
  });

  it.each([[-1], [1.5], ['3'], [Number.NaN], [null], [[3]]])('throws LuaReplyError on %j', (reply) => {
    expect(() => decodeCountReply('registry', reply)).toThrow(LuaReplyError);
  });
});

describe('the features over a RedisCommands whose script replies are malformed', () => {
  /** All a feature may ask of Redis, faked in a few lines: every script answers `reply`. */
  const fake = (reply: unknown): RedisCommands => ({
    keyPrefix: 'fake:',
    evalScript: async () => reply,
    zrem: async () => 0,
    pttl: async () => -2,
    pexpire: async () => 0,
    isReady: () => true,
    onReady: () => undefined,
    subscribe: () => ({ close: () => undefined }),
  });
  const check: LimitCheck = { key: 't|m|requests', kind: 'requests', bucket: { capacity: 10, refillPerSecond: 1 }, cost: 1 };

  it('the rate limiter rejects with LuaReplyError instead of deciding from a short reply', async () => {
    await expect(new RedisRateLimiter(fake([1, 0])).consume([check])).rejects.toThrow(LuaReplyError);
    await expect(new RedisRateLimiter(fake([1, 0, 0, 0, 9, 100])).consume([check])).resolves.toMatchObject({ allowed: true, states: [{ remaining: 9, resetMs: 100 }] });
  });

  it('a malformed reply that comes after a timeout decides nothing: the late decision never settles (no unhandled rejection)', async () => {
    const timedOut: RedisCommands = { ...fake(undefined), evalScript: async () => Promise.reject(new StateUnavailableError('timeout', 10, { late: Promise.resolve([1]) })) };
    const err = await new RedisRateLimiter(timedOut).consume([check]).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StateUnavailableError);
    const late = (err as StateUnavailableError).late;
    expect(late).toBeDefined();
    // Settling takes microtasks; a macrotask after them shows it never settled.
    const outcome = await Promise.race([late?.then(() => 'settled', () => 'rejected'), new Promise((r) => setTimeout(() => r('pending'), 20))]);
    expect(outcome).toBe('pending');
  });

  it('the concurrency limiter rejects with LuaReplyError instead of granting on "1"', async () => {
    await expect(new RedisConcurrencyLimiter(fake('1'), 1_000).acquire('acme', 1)).rejects.toThrow(LuaReplyError);
  });
});
