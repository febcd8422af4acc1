import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, sharedPostgresAvailable } from '../../test/helpers/postgres.js';
import type { LedgerRow } from '../control/ledger/row.js';
import { ensurePartitions, insertRows } from '../control/ledger/write.js';
import { openStore } from '../control/store/open-store.js';
import type { ControlStore } from '../control/store/store.js';
import type { BudgetPeriod } from './budget.js';
import { restoreSpend } from './restore-spend.js';

const settings = { dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 };
const pgAvailable = await sharedPostgresAvailable();
const DAY = 86_400_000;
// Wednesday 2026-12-16, 12:00 UTC: the process started at noon.
const start = Date.UTC(2026, 11, 16, 12);

let n = 0;
function row(atMs: number, team: string, keyId: string, costPico: number | null): LedgerRow {
  return {
    id: `req-${++n}`, startedAt: new Date(atMs).toISOString(), keyId, team, user: null, alias: 'm', servedAlias: 'm', deployment: 'd', operation: 'chat',
    stream: false, attempts: 1, status: 200, outcome: 'success', errorCode: null, promptTokens: 1, completionTokens: 1, cachedTokens: 0, cacheWriteTokens: 0,
    reasoningTokens: 0, usageEstimated: false, costPico, durationMs: 1, ttftMs: null, upstreamMs: 1, detail: {},
  } as LedgerRow;
}

describe.each([
  ['embedded (PGlite)', false],
  ['postgres server', true],
] as const)('restoreSpend: %s', (_label, server) => {
  let store: ControlStore;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (server && !pgAvailable) return;
    const url = server ? await createTestDatabase('restore').then((d) => ((drop = d.drop), d.url)) : undefined;
    ({ store } = await openStore({ ...settings, url }, () => undefined));
    const rows = [
      row(Date.UTC(2026, 10, 30, 23), 'acme', 'key_a', 1_000), // last month: no current window but lifetime
      row(Date.UTC(2026, 11, 1, 0), 'acme', 'key_a', 2_000), // this month, last week
      row(Date.UTC(2026, 11, 14, 1), 'acme', 'key_b', 4_000), // Monday: this week
      row(Date.UTC(2026, 11, 16, 3), 'acme', 'key_a', 8_000), // today, before the start
      row(Date.UTC(2026, 11, 16, 3), 'acme', 'key_a', null), // unpriced: costs nothing
      row(start + 1_000, 'acme', 'key_a', 16_000), // after the start: this process counted it itself
      row(Date.UTC(2026, 11, 16, 3), 'other', 'key_o', 32_000), // another team: not asked for
    ];
    await ensurePartitions(store, new Set(rows.map((r) => r.startedAt.slice(0, 10))));
    expect(await insertRows(store, rows)).toBe(rows.length);
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await drop?.();
  });

  it('reads back each window exactly: whole days from spend_daily, the start day up to the start instant from request_log', async (ctx) => {
    if (server && !pgAvailable) {
      if (process.env.CI === 'true') throw new Error('PostgreSQL is required in CI');
      ctx.skip();
    }
    const seeded: Array<[string, BudgetPeriod, bigint]> = [];
    const all = new Set(['team:acme', 'key:key_a', 'key:key_b', 'team:idle']);
    const scopes = new Map<BudgetPeriod, Set<string>>([['daily', all], ['weekly', all], ['monthly', all], ['lifetime', all]]);
    const count = await restoreSpend(store, { scopes, seed: (scope, period, _at, pico) => seeded.push([scope, period, pico]) }, start, start + 60_000);
    const got = Object.fromEntries(seeded.map(([s, p, v]) => [`${p} ${s}`, v]));
    expect(got).toEqual({
      'daily team:acme': 8_000n,
      'daily key:key_a': 8_000n,
      'weekly team:acme': 12_000n,
      'weekly key:key_a': 8_000n,
      'weekly key:key_b': 4_000n,
      'monthly team:acme': 14_000n,
      'monthly key:key_a': 10_000n,
      'monthly key:key_b': 4_000n,
      'lifetime team:acme': 15_000n,
      'lifetime key:key_a': 11_000n,
      'lifetime key:key_b': 4_000n,
    });
    expect(count).toBe(11);
  });

  it('reads nothing back for a window that began after the process started', async (ctx) => {
    if (server && !pgAvailable) ctx.skip();
    const seeded: unknown[] = [];
    const scopes = new Map<BudgetPeriod, Set<string>>([['daily', new Set(['team:acme'])]]);
    // A day later: today's window is wholly this process's own.
    expect(await restoreSpend(store, { scopes, seed: (...a) => seeded.push(a) }, start, start + DAY)).toBe(0);
    expect(seeded).toEqual([]);
  });
});
