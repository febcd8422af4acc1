import { randomFillSync } from 'node:crypto';

/**
 * Request ids are UUIDv7 (RFC 9562): 48 bits of Unix milliseconds, then 74 random bits. The time
 * prefix is the request's arrival, so the request log files each row under the instant its id
 * names and finds one by id with a primary-key probe (started_at, id), with no index on the id
 * alone (an index of random ids cost ~28 µs per row on the embedded database, bench/analysis.md).
 * Randomness comes from a pooled buffer, refilled 128 ids at a time, as randomUUID() does.
 */

const POOL_IDS = 128;
const pool = Buffer.allocUnsafe(16 * POOL_IDS);
let offset = pool.length;
const hex = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));
const v7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

/** A new UUIDv7 for a request that arrived at `wallMs` (Unix milliseconds). */
export function newRequestId(wallMs: number): string {
  if (offset === pool.length) {
    randomFillSync(pool);
    offset = 0;
  }
  const o = offset;
  offset += 16;
  const ms = Math.max(0, Math.min(Math.floor(wallMs), 2 ** 48 - 1));
  const high = Math.floor(ms / 2 ** 16); // the first 32 bits
  const low = ms % 2 ** 16; // the next 16
  const b = pool;
  return (
    hex[(high >>> 24) & 0xff]! +
    hex[(high >>> 16) & 0xff]! +
    hex[(high >>> 8) & 0xff]! +
    hex[high & 0xff]! +
    '-' +
    hex[(low >>> 8) & 0xff]! +
    hex[low & 0xff]! +
    '-' +
    hex[0x70 | (b[o]! & 0x0f)]! +
    hex[b[o + 1]!]! +
    '-' +
    hex[0x80 | (b[o + 2]! & 0x3f)]! +
    hex[b[o + 3]!]! +
    '-' +
    hex[b[o + 4]!]! +
    hex[b[o + 5]!]! +
    hex[b[o + 6]!]! +
    hex[b[o + 7]!]! +
    hex[b[o + 8]!]! +
    hex[b[o + 9]!]!
  );
}

/** The arrival time (Unix ms) a gateway request id names; undefined for anything but a UUIDv7. */
export function requestIdTime(id: string): number | undefined {
  if (id.length !== 36 || !v7.test(id)) return undefined;
  return Number.parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
