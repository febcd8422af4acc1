import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error.js';
import { RouteRequest, sloFromHeaders, sloTpotHeader, sloTtftHeader } from './route-request.js';

describe('RouteRequest', () => {
  it('computes the prefix blocks once, and only when asked', () => {
    let calls = 0;
    const r = new RouteRequest({ promptTokens: 10, outputTokens: 5 }, true, () => {
      calls++;
      return [1, 2];
    });
    expect(r.tokens).toBe(15);
    expect(r.prefixBlocksIfComputed).toBeUndefined();
    expect(calls).toBe(0);
    expect(r.prefixBlocks()).toEqual([1, 2]);
    expect(r.prefixBlocks()).toEqual([1, 2]);
    expect(r.prefixBlocksIfComputed).toEqual([1, 2]);
    expect(calls).toBe(1);
  });
});

describe('SLO headers', () => {
  it('are absent unless a header is set', () => {
    expect(sloFromHeaders(undefined)).toBeUndefined();
    expect(sloFromHeaders({ 'x-other': '1' })).toBeUndefined();
  });

  it('read positive milliseconds, decimals allowed', () => {
    expect(sloFromHeaders({ [sloTtftHeader]: ' 250 ' })).toEqual({ ttftMs: 250, tpotMs: undefined });
    expect(sloFromHeaders({ [sloTpotHeader]: '12.5', [sloTtftHeader]: '600000' })).toEqual({ ttftMs: 600000, tpotMs: 12.5 });
  });

  it.each(['0', '-5', 'abc', '1e3', '600001', '', '10ms', 'Infinity', '1.2345'])('refuse %j with a 400 naming the header', (value) => {
    try {
      sloFromHeaders({ [sloTtftHeader]: value });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).status).toBe(400);
      expect((err as GatewayError).param).toBe(sloTtftHeader);
    }
  });

  it('refuse a repeated header', () => {
    expect(() => sloFromHeaders({ [sloTpotHeader]: ['10', '20'] })).toThrow(GatewayError);
  });
});
