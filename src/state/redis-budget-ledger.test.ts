import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock, systemClock } from '../clock.js';
import { windowOf, type BudgetRule } from '../spend/budget.js';
import { describeBudgetLedgerContract } from '../spend/budget-ledger-contract.js';
import { adminClient, redisSettings, SHARED_REDIS_URL, sharedRedisAvailable, uniquePrefix } from '../../test/helpers/redis.js';
import { RedisBudgetLedger } from './redis-budget-ledger.js';
import type { LuaScript, RedisCommands } from './redis-commands.js';
import { RedisConnection } from './redis-connection.js';
import { StateUnavailableError } from './state-errors.js';

const available = await sharedRedisAvailable();
const conn = new RedisConnection(redisSettings(SHARED_REDIS_URL, { keyPrefix: uniquePrefix('budget') }), systemClock);

afterAll(async () => {
  await conn.close();
});

describe.skipIf(!available)('RedisBudgetLedger', () => {
  beforeAll(async () => {
    expect(await conn.waitReady(2_000)).toBe(true);
  });

  // The same Lua script, with its "now" from the contract's ManualClock (useClockForExpiry).
  describeBudgetLedgerContract('RedisBudgetLedger (BudgetLedger contract, real Redis)', (clock) => new RedisBudgetLedger(conn, { clock, useClockForExpiry: true, keyPrefix: uniquePrefix('contract') }));

  const rule: BudgetRule = { scope: 'team:acme', period: 'daily', limitPico: 1_000_000n };
  const req = (amountPico: number) => ({ id: randomUUID(), team: 'acme', rules: [rule, { scope: 'key:key_9', period: 'lifetime' as const, limitPico: 10_000_000n }], amountPico, holdMs: 120_000, failureMode: 'open' as const });

  it('keeps one hash tag per team, TTLs past the window end, no TTL on lifetime counters', async () => {
    const prefix = uniquePrefix('keys');
    const ledger = new RedisBudgetLedger(conn, { keyPrefix: prefix });
    const r = await ledger.reserve(req(10));
    expect(r.allowed).toBe(true);
    const now = Date.now();
    const daily = ledger.counterKey('acme', 'team:acme', windowOf('daily', now));
    const lifetime = ledger.counterKey('acme', 'key:key_9', windowOf('lifetime', now));
    expect(daily).toBe(`${prefix}bg:{acme}team:acme|${windowOf('daily', now).id}`);
    const admin = adminClient();
    try {
      const keys = (await admin.keys(`${prefix}*`)).sort();
      expect(keys.every((k) => k.startsWith(`${prefix}bg:{acme}`))).toBe(true);
      expect(keys).toHaveLength(4);
      const end = windowOf('daily', now).endMs ?? 0;
      const ttl = await admin.pttl(daily);
      expect(ttl).toBeGreaterThan(end - now);
      expect(ttl).toBeLessThanOrEqual(end - now + 86_400_000);
      expect(await admin.pttl(lifetime)).toBe(-1);
      // Reservation keys live while they hold reservations (Redis drops them empty), never by TTL.
      expect(await admin.pttl(`${prefix}bg:{acme}holds`)).toBe(-1);
    } finally {
      admin.disconnect();
    }
    await r.hold?.settle(7);
    expect(await ledger.counters('acme', 'team:acme', windowOf('daily', now))).toEqual({ spentPico: 7n, reservedPico: 0n });
    const after = adminClient();
    try {
      expect(await after.exists(`${prefix}bg:{acme}holds`, `${prefix}bg:{acme}holdv`)).toBe(0);
    } finally {
      after.disconnect();
    }
  });

  it('on Redis TIME: a crashed replica’s reservation is dropped once its hold has passed', async () => {
    const ledger = new RedisBudgetLedger(conn, { keyPrefix: uniquePrefix('crash') });
    const daily: BudgetRule = { scope: 'team:acme', period: 'lifetime', limitPico: 100n };
    // Reserved and never settled: the replica "crashed".
    expect((await ledger.reserve({ id: 'lost', team: 'acme', rules: [daily], amountPico: 80, holdMs: 200, failureMode: 'open' })).allowed).toBe(true);
    const again = () => ledger.reserve({ id: randomUUID(), team: 'acme', rules: [daily], amountPico: 80, holdMs: 60_000, failureMode: 'open' });
    expect((await again()).allowed).toBe(false);
    await new Promise((r) => setTimeout(r, 300));
    expect((await again()).allowed).toBe(true);
  });

  it('a reservation granted after the caller stopped waiting (a stalled Redis) is released at once', async () => {
    const prefix = uniquePrefix('late');
    let stall = true;
    // The real connection, except that the first reserve "times out" while Redis still runs it.
    const stalling: RedisCommands = Object.assign(Object.create(conn) as RedisCommands, {
      keyPrefix: prefix,
      evalScript: (script: LuaScript, keys: readonly string[], args: readonly (string | number)[]) => {
        const real = conn.evalScript(script, keys, args);
        if (!stall || args[0] !== 'reserve') return real;
        stall = false;
        return Promise.reject(new StateUnavailableError('timeout', 100, { late: real }));
      },
    });
    const ledger = new RedisBudgetLedger(stalling);
    const r = { id: randomUUID(), team: 'acme', rules: [rule], amountPico: 500, holdMs: 60_000, failureMode: 'open' as const };
    await expect(ledger.reserve(r)).rejects.toBeInstanceOf(StateUnavailableError);
    const window = windowOf('daily', Date.now());
    for (let i = 0; i < 50; i++) {
      if ((await ledger.counters('acme', 'team:acme', window)).reservedPico === 0n) break;
      await new Promise((res) => setTimeout(res, 10));
    }
    expect(await ledger.counters('acme', 'team:acme', window)).toEqual({ spentPico: 0n, reservedPico: 0n });
  });

  it('an expired reservation whose counter is already gone does not recreate it without a TTL', async () => {
    const prefix = uniquePrefix('gone');
    const clock = new ManualClock(0, Date.now());
    const ledger = new RedisBudgetLedger(conn, { keyPrefix: prefix, clock, useClockForExpiry: true });
    const daily: BudgetRule = { scope: 'team:idle', period: 'daily', limitPico: 100n };
    await ledger.reserve({ id: 'crashed', team: 'idle', rules: [daily], amountPico: 10, holdMs: 1_000, failureMode: 'open' });
    const key = ledger.counterKey('idle', 'team:idle', windowOf('daily', clock.wallMs()));
    const admin = adminClient();
    try {
      await admin.del(key); // as if its TTL had run out while the team was idle
      clock.advance(1_001);
      const other: BudgetRule = { scope: 'team:idle', period: 'lifetime', limitPico: 100n };
      expect((await ledger.reserve({ id: 'next', team: 'idle', rules: [other], amountPico: 1, holdMs: 1_000, failureMode: 'open' })).allowed).toBe(true);
      expect(await admin.exists(key)).toBe(0);
    } finally {
      admin.disconnect();
    }
  });

  it('2,000 concurrent reservations over several connections admit exactly what fits, and settles sum exactly', async () => {
    const prefix = uniquePrefix('race');
    const conns = [conn, new RedisConnection(redisSettings(SHARED_REDIS_URL), systemClock), new RedisConnection(redisSettings(SHARED_REDIS_URL), systemClock)];
    try {
      await Promise.all(conns.map((c) => c.waitReady(2_000)));
      const ledgers = conns.map((c) => new RedisBudgetLedger(c, { keyPrefix: prefix }));
      // 1,000,000 pUSD holds exactly 333 reservations of 3,000.
      const results = await Promise.all(Array.from({ length: 2_000 }, (_, i) => (ledgers[i % 3] as RedisBudgetLedger).reserve(req(3_000))));
      const admitted = results.filter((r) => r.allowed);
      expect(admitted).toHaveLength(333);
      // Each settles a different actual cost; the counter is their exact sum.
      const actual = admitted.map((_, i) => 1_000 + i);
      await Promise.all(admitted.map((r, i) => r.hold?.settle(actual[i] ?? 0)));
      const sum = actual.reduce((a, b) => a + b, 0);
      expect(await ledgers[0]?.counters('acme', 'team:acme', windowOf('daily', Date.now()))).toEqual({ spentPico: BigInt(sum), reservedPico: 0n });
    } finally {
      await Promise.all(conns.slice(1).map((c) => c.close()));
    }
  }, 30_000);
});
