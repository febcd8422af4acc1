import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, sharedPostgresAvailable } from '../../../test/helpers/postgres.js';
import { finished } from '../../../test/helpers/request-events.js';
import { ManualClock } from '../../clock.js';
import { openStore } from '../store/open-store.js';
import type { ControlStore } from '../store/store.js';
import { MAX_PAYLOAD_CHARS_IN_MEMORY, RequestLedger, type LedgerSettings } from './ledger.js';
import { rowOf, type LedgerRow } from './row.js';
import { deleteExpiredPayloads, dropExpiredPartitions, ensurePartitions, insertRows, partitionDays } from './write.js';

const settings = { dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 };
const pgAvailable = await sharedPostgresAvailable();
const logger = pino({ level: 'silent' });

function rows(n: number, startedAt: string, prefix = 'req'): LedgerRow[] {
  const wall = Date.parse(startedAt);
  return Array.from({ length: n }, (_, i) => rowOf(finished(`${prefix}-${i}`, { durationMs: 0 }), wall + i, {}));
}

async function query<T>(store: ControlStore, text: string): Promise<T[]> {
  const result = await store.db.execute(sql.raw(text));
  return (result as unknown as { rows: T[] }).rows;
}

/** The store with a switch: while `down`, every call fails as a refused connection does. */
function switchable(store: ControlStore): { store: ControlStore; setDown(down: boolean): void } {
  let down = false;
  const refused = (): Promise<never> => Promise.reject(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' }));
  const db = new Proxy(store.db, {
    get(target, prop) {
      if (down && prop === 'execute') return refused;
      const v = Reflect.get(target, prop, target) as unknown;
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(target) : v;
    },
  });
  return {
    store: { ...store, kind: store.kind, db, transaction: (fn) => (down ? refused() : store.transaction(fn)), onChange: (h) => store.onChange(h), close: () => store.close() },
    setDown: (d) => (down = d),
  };
}

describe.each([
  ['embedded (PGlite)', false],
  ['postgres server', true],
] as const)('request log: %s', (_label, server) => {
  let store: ControlStore;
  let drop: (() => Promise<void>) | undefined;
  const dirs: string[] = [];
  const skip = server && !pgAvailable;

  beforeAll(async () => {
    if (skip) return;
    const url = server ? await createTestDatabase('ledger').then((d) => ((drop = d.drop), d.url)) : undefined;
    ({ store } = await openStore({ ...settings, url }, () => undefined));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
    await drop?.();
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  afterEach(async () => {
    if (skip) return;
    await query(store, 'TRUNCATE request_log, spend_daily, request_payloads');
  });

  async function spoolDir(): Promise<string> {
    const d = await mkdtemp(join(tmpdir(), 'ledger-spool-'));
    dirs.push(d);
    return d;
  }

  it.skipIf(skip)('a replayed batch is skipped whole: the spend counts each request once', async () => {
    const batch = rows(50, '2026-03-01T23:59:59.990Z');
    await ensurePartitions(store, ['2026-03-01', '2026-03-02']);
    expect(await insertRows(store, batch)).toBe(50);
    // The same rows again, and some new ones with them (a batch cut short, then the spool).
    expect(await insertRows(store, [...batch, ...rows(5, '2026-03-02T10:00:00Z', 'new')])).toBe(5);
    const [logged] = await query<{ n: number }>(store, 'SELECT count(*)::int AS n FROM request_log');
    expect(logged?.n).toBe(55);
    const spend = await query<{ day: string; requests: string; cost: string; prompt: string }>(
      store, "SELECT day::text AS day, requests::text AS requests, cost_pico::text AS cost, prompt_tokens::text AS prompt FROM spend_daily ORDER BY day",
    );
    // Rows started 23:59:59.990 + i ms: 10 on March 1st, 40 after midnight, plus the 5 new ones.
    expect(spend).toEqual([
      { day: '2026-03-01', requests: '10', cost: String(10 * 1_500_000), prompt: '100' },
      { day: '2026-03-02', requests: '45', cost: String(45 * 1_500_000), prompt: '450' },
    ]);
  });

  it.skipIf(skip)('unpriced and estimated requests are counted apart; a refused one costs nothing', async () => {
    await ensurePartitions(store, ['2026-03-03']);
    const wall = Date.parse('2026-03-03T12:00:00Z');
    await insertRows(store, [
      rowOf(finished('u1', { costPico: null, durationMs: 0 }), wall, {}),
      rowOf(finished('e1', { usage: { promptTokens: 1, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, estimated: true }, costPico: 7, durationMs: 0 }), wall, {}),
      rowOf(finished('r1', { status: 429, outcome: 'rate_limited', errorCode: 'rate_limit_exceeded', deployment: undefined, usage: undefined, costPico: undefined, durationMs: 0 }), wall, {}),
    ]);
    const spend = await query<{ deployment: string; requests: string; unpriced: string; estimated: string; cost: string }>(
      store, 'SELECT deployment, sum(requests)::text AS requests, sum(unpriced_requests)::text AS unpriced, sum(estimated_requests)::text AS estimated, sum(cost_pico)::text AS cost FROM spend_daily GROUP BY deployment ORDER BY deployment',
    );
    expect(spend).toEqual([
      { deployment: '', requests: '1', unpriced: '0', estimated: '0', cost: '0' },
      { deployment: 'dep-1', requests: '2', unpriced: '1', estimated: '1', cost: '7' },
    ]);
  });

  it.skipIf(skip)('partitions are made at once by racing callers, and dropped by retention', async () => {
    const days = ['2026-01-01', '2026-01-02', '2026-01-03'];
    await Promise.all([0, 1, 2].map(() => ensurePartitions(store, days)));
    expect(await partitionDays(store)).toEqual(expect.arrayContaining(days));
    const dropped = await dropExpiredPartitions(store, 30, Date.parse('2026-02-02T12:00:00Z'));
    expect(dropped).toEqual(['2026-01-01', '2026-01-02']);
    expect(await partitionDays(store)).not.toContain('2026-01-02');
    expect(await partitionDays(store)).toContain('2026-01-03');
  });

  it.skipIf(skip)('while the database is down rows wait, then spool; all are written once when it returns', async () => {
    const clock = new ManualClock(0, Date.parse('2026-04-01T08:00:00Z'));
    const sw = switchable(store);
    const dir = await spoolDir();
    const counts = { written: 0, spooled: 0, dropped: 0 };
    const ledgerSettings: LedgerSettings = { flushMs: 60_000, batchRows: 10, maxBufferRows: 20, spoolDir: dir, maxSpoolBytes: 1_048_576, retentionDays: 30 };
    const ledger = new RequestLedger(ledgerSettings, {
      clock,
      logger,
      store: () => sw.store,
      events: () => ({ requestLogRows: (e) => (counts[e.result] += e.rows), requestLogBacklog: () => undefined }),
    });
    await ledger.start();
    sw.setDown(true);
    // Attempt details are joined to their request's row.
    ledger.attemptFinished({ requestId: 'r-0', alias: 'gpt', deployment: 'dep-0', genAiProvider: 'openai', upstreamModel: 'm', responseModel: 'm', serverAddress: 'x', serverPort: 1, operation: 'chat', attempt: 1, outcome: 'server_error', status: 503, durationMs: 12.3 });
    ledger.retry({ requestId: 'r-0', alias: 'gpt', fromDeployment: 'dep-0', reason: 'server_error', delayMs: 50 });
    for (let i = 0; i < 100; i += 10) {
      for (let j = i; j < i + 10; j++) ledger.requestFinished(finished(`r-${j}`));
      await waitFor(() => ledger.buffered <= 20);
    }
    // Not an API operation: no row.
    ledger.requestFinished(finished('health', { operation: undefined }));
    await ledger.flush();
    await waitFor(() => counts.spooled === 80);
    expect(ledger.buffered).toBe(20);
    expect((await readdir(dir)).length).toBeGreaterThan(0);
    sw.setDown(false);
    await ledger.flush();
    expect(counts).toEqual({ written: 100, spooled: 80, dropped: 0 });
    expect(await readdir(dir)).toEqual([]);
    const ids = await query<{ id: string }>(store, 'SELECT id FROM request_log ORDER BY id');
    expect(new Set(ids.map((r) => r.id)).size).toBe(100);
    expect(ids.length).toBe(100);
    const [first] = await query<{ detail: unknown; started_at: Date | string }>(store, "SELECT detail, started_at FROM request_log WHERE id = 'r-0'");
    expect(first?.detail).toEqual({ attempts: [{ attempt: 1, deployment: 'dep-0', outcome: 'server_error', status: 503, durationMs: 12 }], retries: [{ fromDeployment: 'dep-0', reason: 'server_error', delayMs: 50 }] });
    // Started 120.4 ms before the event arrived, by the wall clock.
    expect(new Date(first?.started_at as string).toISOString()).toBe('2026-04-01T07:59:59.880Z');
    await ledger.close();
  });

  it.skipIf(skip)('a spool left by an earlier process is written at start, once; a line cut short is dropped, counted', async () => {
    const dir = await spoolDir();
    const left = rows(30, '2026-04-02T09:00:00Z', 'left');
    await writeFile(join(dir, 'requests-1775120400000-999-0.jsonl'), `${left.map((r) => JSON.stringify(r)).join('\n')}\n{"id":"cut-sh`);
    // Some of them were written before the crash (the spool file was not yet removed).
    await ensurePartitions(store, ['2026-04-02']);
    await insertRows(store, left.slice(0, 10));
    const counts = { written: 0, spooled: 0, dropped: 0 };
    const ledger = new RequestLedger(
      { flushMs: 60_000, batchRows: 7, maxBufferRows: 100, spoolDir: dir, maxSpoolBytes: 1_048_576, retentionDays: 30 },
      { clock: new ManualClock(0, Date.parse('2026-04-02T10:00:00Z')), logger, store: () => store, events: () => ({ requestLogRows: (e) => (counts[e.result] += e.rows), requestLogBacklog: () => undefined }) },
    );
    await ledger.start();
    await ledger.flush();
    expect(counts).toEqual({ written: 20, spooled: 0, dropped: 1 });
    expect(await readdir(dir)).toEqual([]);
    const [n] = await query<{ n: number; requests: number }>(store, "SELECT (SELECT count(*)::int FROM request_log) AS n, (SELECT sum(requests)::int FROM spend_daily) AS requests");
    expect(n).toEqual({ n: 30, requests: 30 });
    await ledger.close();
  });

  it.skipIf(skip)('a drain writes the buffer; when the database is down it spools it for the next start', async () => {
    const dir = await spoolDir();
    const sw = switchable(store);
    const make = () =>
      new RequestLedger(
        { flushMs: 60_000, batchRows: 1_000, maxBufferRows: 1_000, spoolDir: dir, maxSpoolBytes: 1_048_576, retentionDays: 30 },
        { clock: new ManualClock(0, Date.parse('2026-04-03T10:00:00Z')), logger, store: () => sw.store, events: () => undefined },
      );
    const first = make();
    await first.start();
    for (let i = 0; i < 25; i++) first.requestFinished(finished(`d-${i}`));
    sw.setDown(true);
    await first.close();
    expect((await readdir(dir)).length).toBe(1);
    sw.setDown(false);
    const second = make();
    await second.start();
    await second.flush();
    const [n] = await query<{ n: number }>(store, 'SELECT count(*)::int AS n FROM request_log');
    expect(n?.n).toBe(25);
    await second.close();
  });

  it.skipIf(skip)('a payload is redacted before it is written or spooled, stored once, and deleted when it expires', async () => {
    const dir = await spoolDir();
    const sw = switchable(store);
    const clock = new ManualClock(0, Date.parse('2026-04-05T10:00:00Z'));
    const make = () =>
      new RequestLedger({ flushMs: 60_000, batchRows: 100, maxBufferRows: 1, spoolDir: dir, maxSpoolBytes: 1_048_576, retentionDays: 30 }, { clock, logger, store: () => sw.store, events: () => undefined });
    const policy = { store: true, maxBytes: 1_000, retentionDays: 2, redact: ['sk-[a-z0-9]+'] };
    const payload = (n: number) => ({ request: `{"messages":"my key is sk-secret${n}"}`, response: '{"content":"noted sk-secret"}', truncated: false, policy });
    const ledger = make();
    await ledger.start();
    sw.setDown(true);
    // The first waits in memory, the second goes to the spool: neither may hold the secret on disk.
    ledger.requestFinished(finished('p-1', { payload: payload(1) }));
    ledger.requestFinished(finished('p-2', { payload: payload(2) }));
    ledger.requestFinished(finished('p-3'));
    await ledger.flush();
    await ledger.close();
    const spooled = await Promise.all((await readdir(dir)).map((f) => readFile(join(dir, f), 'utf8')));
    expect(spooled.join('')).toContain('[REDACTED]');
    expect(spooled.join('')).not.toContain('sk-secret');
    sw.setDown(false);
    const again = make();
    await again.start();
    await again.flush();
    await again.close();
    const rows = await query<{ id: string; request: string; response: string; expires_at: Date | string }>(store, 'SELECT id, request, response, expires_at FROM request_payloads ORDER BY id');
    expect(rows.map((r) => [r.id, r.request, r.response])).toEqual([
      ['p-1', '{"messages":"my key is [REDACTED]"}', '{"content":"noted [REDACTED]"}'],
      ['p-2', '{"messages":"my key is [REDACTED]"}', '{"content":"noted [REDACTED]"}'],
    ]);
    expect(new Date(rows[0]!.expires_at).toISOString()).toBe('2026-04-07T09:59:59.880Z');
    expect(await deleteExpiredPayloads(store, Date.parse('2026-04-07T09:00:00Z'))).toBe(0);
    expect(await deleteExpiredPayloads(store, Date.parse('2026-04-07T10:00:00Z'))).toBe(2);
    const [left] = await query<{ n: number }>(store, 'SELECT (SELECT count(*)::int FROM request_payloads) + (SELECT count(*)::int FROM request_log) - 3 AS n');
    expect(left?.n).toBe(0);
  });

  it.skipIf(skip)('a row the database refuses (a value out of range) is dropped alone, counted; its batch is written', async () => {
    const counts = { written: 0, spooled: 0, dropped: 0 };
    const ledger = new RequestLedger(
      { flushMs: 60_000, batchRows: 100, maxBufferRows: 100, spoolDir: await spoolDir(), maxSpoolBytes: 1_048_576, retentionDays: 30 },
      { clock: new ManualClock(0, Date.parse('2026-04-06T10:00:00Z')), logger, store: () => store, events: () => ({ requestLogRows: (e) => (counts[e.result] += e.rows), requestLogBacklog: () => undefined }) },
    );
    await ledger.start();
    ledger.requestFinished(finished('ok-1'));
    ledger.requestFinished(finished('huge', { usage: { promptTokens: 3_000_000_000, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, estimated: false } }));
    ledger.requestFinished(finished('ok-2'));
    await ledger.flush();
    expect(counts).toEqual({ written: 2, spooled: 0, dropped: 1 });
    expect(ledger.buffered).toBe(0);
    expect((await query<{ id: string }>(store, 'SELECT id FROM request_log ORDER BY id')).map((r) => r.id)).toEqual(['ok-1', 'ok-2']);
    await ledger.close();
  });

  it.skipIf(skip)('a full spool drops rows and counts them; the buffer stays bounded', async () => {
    const dir = await spoolDir();
    const sw = switchable(store);
    sw.setDown(true);
    const counts = { written: 0, spooled: 0, dropped: 0 };
    const ledger = new RequestLedger(
      { flushMs: 60_000, batchRows: 100, maxBufferRows: 50, spoolDir: dir, maxSpoolBytes: 1_048_576, retentionDays: 30 },
      { clock: new ManualClock(0, Date.parse('2026-04-04T10:00:00Z')), logger, store: () => sw.store, events: () => ({ requestLogRows: (e) => (counts[e.result] += e.rows), requestLogBacklog: () => undefined }) },
    );
    await ledger.start();
    // ~700 bytes a row: 1 MiB holds about 1,500 of them.
    const big = 'x'.repeat(200);
    // In steps the disk keeps up with: only the spool's cap drops rows here.
    for (let i = 0; i < 3_000; i += 25) {
      for (let j = i; j < i + 25; j++) ledger.requestFinished(finished(`f-${j}-${big}`));
      await waitFor(() => ledger.buffered <= 50);
    }
    await ledger.flush();
    await waitFor(() => counts.spooled + counts.dropped === 2_950);
    expect(counts.spooled).toBeGreaterThan(1_000);
    expect(counts.dropped).toBeGreaterThan(500);
    expect(ledger.buffered).toBe(50);
    sw.setDown(false);
    await ledger.flush();
    expect(counts.written).toBe(50 + counts.spooled);
    await ledger.close();
  });
});

async function waitFor(check: () => boolean, timeoutMs = 5_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe('request log: memory held by stored payloads (attack, issue 12)', () => {
  it('holds at most MAX_PAYLOAD_CHARS_IN_MEMORY of payloads while the database is away; later rows keep everything but their payload', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'llmgw-ledger-payload-'));
    const ledger = new RequestLedger(
      { flushMs: 60_000, batchRows: 1_000, maxBufferRows: 1_000, spoolDir: dir, maxSpoolBytes: 1_048_576, retentionDays: 30 },
      { clock: new ManualClock(0, Date.parse('2026-04-01T08:00:00Z')), logger, store: () => undefined, events: () => undefined },
    );
    try {
      await ledger.start();
      const mib = 'x'.repeat(1 << 20);
      const payload = { request: mib, response: undefined, truncated: false, policy: { store: true, maxBytes: 1 << 20, retentionDays: 7, redact: [] } };
      for (let i = 0; i < 40; i++) ledger.requestFinished(finished(`p-${i}`, { payload }));
      expect(ledger.buffered).toBe(40);
      expect(ledger.heldPayloadChars).toBeLessThanOrEqual(MAX_PAYLOAD_CHARS_IN_MEMORY);
      expect(ledger.heldPayloadChars).toBe(Math.floor(MAX_PAYLOAD_CHARS_IN_MEMORY / (1 << 20)) * (1 << 20));
    } finally {
      await ledger.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
