import { MemoryBudgetLedger } from '../spend/memory-budget-ledger.js';
import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.js';
import { resolveConfig } from '../config/load.js';
import { fanOut } from '../observability/events.js';
import { MemoryConcurrencyLimiter } from '../ratelimit/concurrency.js';
import { MemoryRateLimiter } from '../ratelimit/memory-limiter.js';
import { MemoryCooldowns } from '../routing/cooldowns.js';
import { UpstreamPools } from '../upstream/pools.js';
import { RuntimeHolder } from './runtime-holder.js';

function config(deployments: Record<string, string>, extra: Record<string, unknown> = {}) {
  return resolveConfig({
    deployments: Object.fromEntries(Object.entries(deployments).map(([name, baseUrl]) => [name, { provider: 'openai', baseUrl }])),
    models: Object.fromEntries(Object.keys(deployments).map((name) => [`m-${name}`, { targets: [{ deployment: name, model: 'x' }] }])),
    ...extra,
  }, {});
}

function holder(initial: ReturnType<typeof config>) {
  const clock = new ManualClock();
  const pools = new UpstreamPools();
  const h = new RuntimeHolder(initial, { clock, events: fanOut([], () => undefined), pools, rateLimiter: new MemoryRateLimiter(clock), concurrency: new MemoryConcurrencyLimiter(), cooldowns: new MemoryCooldowns(clock), budgetLedger: new MemoryBudgetLedger(clock) });
  return { h, pools };
}

describe('RuntimeHolder', () => {
  it('keeps unchanged deployments as the same objects and reports what changed', () => {
    const { h } = holder(config({ a: 'http://a.test/v1', b: 'http://b.test/v1' }));
    const before = h.current;
    const swap = h.swap(config({ a: 'http://a.test/v1', b: 'http://b2.test/v1', c: 'http://c.test/v1' }));
    expect(swap).toMatchObject({ added: ['c'], removed: [], rebuilt: ['b'] });
    expect(swap.runtime.version).toBe(2);
    expect(swap.runtime.deployments.get('a')).toBe(before.deployments.get('a'));
    expect(swap.runtime.deployments.get('a')?.breaker).toBe(before.deployments.get('a')?.breaker);
    expect(swap.runtime.deployments.get('b')).not.toBe(before.deployments.get('b'));
  });

  it('a change to the breaker settings rebuilds every deployment', () => {
    const { h } = holder(config({ a: 'http://a.test/v1' }));
    expect(h.swap(config({ a: 'http://a.test/v1' }, { circuitBreaker: { failureThreshold: 9 } })).rebuilt).toEqual(['a']);
  });

  it('closes a removed deployment pool only after the last request on the old runtime releases it', async () => {
    const { h, pools } = holder(config({ a: 'http://a.test/v1', b: 'http://b.test/v1' }));
    expect(pools.size).toBe(2);
    const lease = h.acquire();
    h.swap(config({ b: 'http://b.test/v1' }));
    await h.settled();
    expect(pools.size).toBe(2);
    expect(h.retiredInUse).toBe(1);
    // New requests get the new runtime.
    expect(h.acquire().runtime.version).toBe(2);
    lease.release();
    lease.release(); // idempotent
    await h.settled();
    expect(pools.size).toBe(1);
    expect(h.retiredInUse).toBe(0);
  });

  it('without requests in flight, a swap closes unused pools at once and keeps shared ones', async () => {
    const { h, pools } = holder(config({ a: 'http://a.test/v1', b: 'http://b.test/v1' }));
    h.swap(config({ a: 'http://a.test/v1', c: 'http://b.test/v1' }));
    await h.settled();
    // c is new but on b's origin with the same pool options: the pool is shared and kept.
    expect(pools.size).toBe(2);
    h.swap(config({ a: 'http://a.test/v1' }));
    await h.settled();
    expect(pools.size).toBe(1);
  });
});
