import { describe, expect, it } from 'vitest';
import type { Principal } from '../auth/principal.js';
import { GatewayError } from '../errors/gateway-error.js';
import { effectivePriority } from './effective-priority.js';

const plain: Principal = { tenant: 't', mayUse: () => true, limitsFor: () => undefined };
const vip: Principal = { ...plain, queue: { weight: 3, priority: 'normal', maxPriority: 'high' } };
const batchTeam: Principal = { ...plain, queue: { weight: 1, priority: 'low', maxPriority: 'normal' } };

describe('effectivePriority', () => {
  it("takes an in-process caller's class over any header", () => {
    expect(effectivePriority('low', vip, { 'x-gateway-priority': 'high' })).toBe('low');
  });

  it("uses the team's default without a header, and normal without settings", () => {
    expect(effectivePriority(undefined, plain, {})).toBe('normal');
    expect(effectivePriority(undefined, batchTeam, undefined)).toBe('low');
  });

  it('honours a header up to the team ceiling and lowers a higher ask to it', () => {
    expect(effectivePriority(undefined, vip, { 'x-gateway-priority': 'high' })).toBe('high');
    expect(effectivePriority(undefined, plain, { 'x-gateway-priority': 'high' })).toBe('normal');
    expect(effectivePriority(undefined, batchTeam, { 'x-gateway-priority': 'High ' })).toBe('normal');
  });

  it('always allows asking for low', () => {
    expect(effectivePriority(undefined, plain, { 'x-gateway-priority': 'low' })).toBe('low');
    expect(effectivePriority(undefined, vip, { 'x-gateway-priority': 'low' })).toBe('low');
  });

  it('refuses a header that names no class, or is repeated, with a 400 naming it', () => {
    for (const bad of ['urgent', '', ['high', 'low']]) {
      let err: unknown;
      try {
        effectivePriority(undefined, vip, { 'x-gateway-priority': bad });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(GatewayError);
      expect((err as GatewayError).param).toBe('x-gateway-priority');
    }
  });
});
