import { describe, expect, it } from 'vitest';
import { newRequestId, requestIdTime } from './request-id.js';

describe('request ids (UUIDv7)', () => {
  it('are RFC 9562 version 7 UUIDs naming their arrival time', () => {
    const at = Date.UTC(2026, 11, 5, 4, 30, 12, 345);
    const id = newRequestId(at);
    expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(requestIdTime(id)).toBe(at);
    expect(requestIdTime(newRequestId(0))).toBe(0);
    expect(requestIdTime(newRequestId(2 ** 48 - 1))).toBe(2 ** 48 - 1);
  });

  it('are unique across many ids in one millisecond, past the pool refill', () => {
    const ids = new Set(Array.from({ length: 10_000 }, () => newRequestId(1_000)));
    expect(ids.size).toBe(10_000);
  });

  it('names no time for anything but a UUIDv7', () => {
    expect(requestIdTime(crypto.randomUUID())).toBeUndefined();
    expect(requestIdTime('not-an-id')).toBeUndefined();
    expect(requestIdTime(`${newRequestId(1)}x`)).toBeUndefined();
  });
});
