import { describe, expect, it } from 'vitest';
import { formatTraceparent, parseTraceparent, parseTracestate, traceIdOf } from './trace-context.js';

const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
const spanId = '00f067aa0ba902b7';

describe('parseTraceparent', () => {
  it('reads a valid version-00 header', () => {
    expect(parseTraceparent(`00-${traceId}-${spanId}-01`)).toEqual({ traceId, spanId, sampled: true });
    expect(parseTraceparent(`00-${traceId}-${spanId}-00`)).toEqual({ traceId, spanId, sampled: false });
    // Only bit 0 is the sampled flag.
    expect(parseTraceparent(`00-${traceId}-${spanId}-03`)).toEqual({ traceId, spanId, sampled: true });
    expect(parseTraceparent(`00-${traceId}-${spanId}-02`)).toEqual({ traceId, spanId, sampled: false });
  });

  it('ignores malformed headers', () => {
    for (const bad of [
      '',
      'garbage',
      `00-${traceId}-${spanId}`,
      `00-${traceId}-${spanId}-1`,
      `00-${traceId}-${spanId}-001`,
      `00-${traceId.slice(1)}-${spanId}-01`,
      `00-${traceId}-${spanId.slice(1)}-01`,
      `00_${traceId}_${spanId}_01`,
      ` 00-${traceId}-${spanId}-01`,
      `00-${traceId}-${spanId}-01 `,
      `00-${traceId}-${spanId}-0g`,
      `0-${traceId}-${spanId}-01`,
      `00-${traceId}-${spanId}-01\r\nx-injected: 1`,
      `00-${traceId}-${spanId}-01\nx-injected: 1`,
    ]) {
      expect(parseTraceparent(bad), bad).toBeUndefined();
    }
  });

  it('ignores all-zero ids', () => {
    expect(parseTraceparent(`00-${'0'.repeat(32)}-${spanId}-01`)).toBeUndefined();
    expect(parseTraceparent(`00-${traceId}-${'0'.repeat(16)}-01`)).toBeUndefined();
  });

  it('ignores version ff', () => {
    expect(parseTraceparent(`ff-${traceId}-${spanId}-01`)).toBeUndefined();
  });

  it('ignores uppercase hex', () => {
    expect(parseTraceparent(`00-${traceId.toUpperCase()}-${spanId}-01`)).toBeUndefined();
    expect(parseTraceparent(`00-${traceId}-${spanId.toUpperCase()}-01`)).toBeUndefined();
    expect(parseTraceparent(`0A-${traceId}-${spanId}-01`)).toBeUndefined();
  });

  it('version 00 with extra fields is invalid; a later version may have them', () => {
    expect(parseTraceparent(`00-${traceId}-${spanId}-01-extra`)).toBeUndefined();
    expect(parseTraceparent(`01-${traceId}-${spanId}-01-extra-fields`)).toEqual({ traceId, spanId, sampled: true });
    expect(parseTraceparent(`01-${traceId}-${spanId}-01`)).toEqual({ traceId, spanId, sampled: true });
    // A later version still needs the separator right after the flags.
    expect(parseTraceparent(`01-${traceId}-${spanId}-01extra`)).toBeUndefined();
    // ...and no control characters in them.
    expect(parseTraceparent(`01-${traceId}-${spanId}-01-a\r\nb`)).toBeUndefined();
  });

  it('ignores repeated headers and oversized ones', () => {
    expect(parseTraceparent([`00-${traceId}-${spanId}-01`, `00-${traceId}-${spanId}-01`])).toBeUndefined();
    expect(parseTraceparent(`01-${traceId}-${spanId}-01-${'a'.repeat(300)}`)).toBeUndefined();
    expect(parseTraceparent(undefined)).toBeUndefined();
  });

  it('formats version 00 and round-trips', () => {
    const header = formatTraceparent(traceId, spanId, true);
    expect(header).toBe(`00-${traceId}-${spanId}-01`);
    expect(parseTraceparent(header)).toEqual({ traceId, spanId, sampled: true });
    expect(formatTraceparent(traceId, spanId, false)).toBe(`00-${traceId}-${spanId}-00`);
    expect(traceIdOf(header)).toBe(traceId);
    expect(traceIdOf('nope')).toBeUndefined();
  });
});

describe('parseTracestate', () => {
  it('keeps valid members, trimmed, without empty ones', () => {
    expect(parseTracestate('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE')).toBe('rojo=00f067aa0ba902b7,congo=t61rcWkgMzE');
    expect(parseTracestate(' rojo=1 ,\tcongo=2 , ,')).toBe('rojo=1,congo=2');
    expect(parseTracestate('tenant@vendor=abc')).toBe('tenant@vendor=abc');
  });

  it('drops the whole header when a member is invalid', () => {
    for (const bad of ['Rojo=1', 'rojo', 'rojo=', 'rojo=a,b', 'ro jo=1', 'rojo=1\r\nx-injected: 1', 'rojo=1,rojo=2', 'rojo=a=b', `k=${'v'.repeat(300)}`, 'rojo=é']) {
      expect(parseTracestate(bad), bad).toBeUndefined();
    }
  });

  it('bounds members and length', () => {
    const members = Array.from({ length: 33 }, (_, i) => `k${i}=v`).join(',');
    expect(parseTracestate(members)).toBeUndefined();
    expect(parseTracestate(Array.from({ length: 32 }, (_, i) => `k${i}=v`).join(','))).toBeDefined();
    expect(parseTracestate(`a=${'b'.repeat(520)}`)).toBeUndefined();
    expect(parseTracestate(['a=1', 'b=2'])).toBeUndefined();
    expect(parseTracestate('')).toBeUndefined();
  });
});
