/**
 * Attack on issue 12's spool: a spool line that parses as a row but whose start time names no
 * real day (a corrupted file: "2026-02-30", "9999-12-31" whose next day PostgreSQL cannot bound)
 * makes the partition for it fail to be made. That failure is thrown before the insert's own
 * bad-data handling, so the flush takes it for an outage: the file is never written back nor
 * removed, every later spool file waits behind it forever, and the spool fills until rows are
 * dropped. One bad line must cost one row (dropped, counted), never the spool.
 *
 * Embedded store (the same code path on a PostgreSQL server).
 */
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/clock.js';
import { RequestLedger } from '../../src/control/ledger/ledger.js';
import { rowOf } from '../../src/control/ledger/row.js';
import { openStore } from '../../src/control/store/open-store.js';
import type { ControlStore } from '../../src/control/store/store.js';
import { finished } from '../helpers/request-events.js';

let store: ControlStore;
const dirs: string[] = [];

beforeAll(async () => {
  ({ store } = await openStore({ dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 }, () => undefined));
}, 60_000);
afterAll(async () => {
  await store?.close();
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('a corrupted spool line', () => {
  it.each(['2026-02-30T10:00:00.000Z', '9999-12-31T10:00:00.000Z', '2026-13-01T10:00:00.000Z'])('with startedAt %s costs one row, not the spool', async (badStart) => {
    const dir = await mkdtemp(join(tmpdir(), 'ledger-poison-'));
    dirs.push(dir);
    const tag = badStart.slice(0, 10);
    const good = (prefix: string, at: string) => Array.from({ length: 5 }, (_, i) => JSON.stringify(rowOf(finished(`${tag}-${prefix}-${i}`, { durationMs: 0 }), Date.parse(at) + i, {})));
    const bad = JSON.stringify({ ...rowOf(finished(`${tag}-bad`, { durationMs: 0 }), Date.parse('2026-04-02T09:00:00Z'), {}), startedAt: badStart });
    // Two files a crashed process (pid 999 999, gone) left: the bad line in the first.
    await writeFile(join(dir, 'requests-1775120400000-999999-0.jsonl'), `${[...good('a', '2026-04-02T09:00:00Z'), bad].join('\n')}\n`);
    await writeFile(join(dir, 'requests-1775120400001-999999-1.jsonl'), `${good('b', '2026-04-02T09:30:00Z').join('\n')}\n`);
    const counts = { written: 0, spooled: 0, dropped: 0 };
    const ledger = new RequestLedger(
      { flushMs: 60_000, batchRows: 100, maxBufferRows: 100, spoolDir: dir, maxSpoolBytes: 1_048_576, retentionDays: 30 },
      { clock: new ManualClock(0, Date.parse('2026-04-02T10:00:00Z')), logger: pino({ level: 'silent' }), store: () => store, events: () => ({ requestLogRows: (e) => (counts[e.result] += e.rows), requestLogBacklog: () => undefined }) },
    );
    await ledger.start();
    await ledger.flush();
    await ledger.flush();
    await ledger.close();
    const result = await store.db.execute(sql.raw(`SELECT count(*)::int AS n FROM request_log WHERE id LIKE '${tag}-%'`));
    const n = (result as unknown as { rows: Array<{ n: number }> }).rows[0]?.n;
    expect({ n, counts, left: await readdir(dir) }).toEqual({ n: 10, counts: { written: 10, spooled: 0, dropped: 1 }, left: [] });
  });
});
