/**
 * The Lua reply decoders: the exact shapes the scripts return are taken, anything else is a
 * LuaReplyError naming the script (never a silently wrong decision).
 */
import { describe, expect, it } from 'vitest';
import { decodeAcquireReply, decodeBucketReply, decodeCountReply, LuaReplyError } from './lua-replies.js';

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
