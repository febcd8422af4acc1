/**
 * Migration 4 (attempt_log, trace_id) on a request log that already holds rows, on the embedded
 * store (PGlite) and on a real PostgreSQL: the old rows read back with `attemptLog: []` and
 * `traceId: null` (as a request of today with no attempt), in the list and in full, and new rows
 * written after it carry both.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/control/store/migrate.js';
import { migrations } from '../../src/control/store/migrations.js';
import { openEmbeddedStore } from '../../src/control/store/embedded-store.js';
import { openPostgresStore } from '../../src/control/store/postgres-store.js';
import type { ControlStore } from '../../src/control/store/store.js';
import { ensurePartitions } from '../../src/control/ledger/write.js';
import { newRequestId, requestIdTime } from '../../src/http/request-id.js';
import { ADMIN_KEY, admin } from '../helpers/admin.js';
import { chat, chatBody, deploymentFor, startHarness } from '../helpers/harness.js';
import { createTestDatabase, sharedPostgresAvailable } from '../helpers/postgres.js';

const cleanup: Array<() => Promise<void> | void> = [];
afterAll(async () => {
  for (const c of cleanup.reverse()) await c();
});

/** A store at migration 3 holding one request of today, as a gateway before the console wrote it. */
async function oldRow(store: ControlStore): Promise<string> {
  const result = await migrate(store, migrations.filter((m) => m.id <= 3));
  expect(result.applied).toEqual([1, 2, 3]);
  const now = Date.now();
  await ensurePartitions(store, [new Date(now).toISOString().slice(0, 10)]);
  const id = newRequestId(now);
  await store.transaction((tx) =>
    tx.rows(
      `INSERT INTO request_log (id, started_at, team, alias, operation, stream, attempts, status, outcome, duration_ms, upstream_ms, detail)
       VALUES ($1, $2, 'main', 'gpt-mini', 'chat', false, 1, 200, 'success', 12, 10, '{"attempts":[{"attempt":1,"deployment":"d","outcome":"success","status":200,"durationMs":10}]}'::jsonb)`,
      [id, new Date(requestIdTime(id)!).toISOString()],
    ),
  );
  return id;
}

async function check(database: Record<string, unknown>, id: string): Promise<void> {
  const h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
    config: (f) => ({
      deployments: { d: deploymentFor(f[0]!) },
      models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'm' }] } },
      admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
      state: { database },
      requestLog: { flushMs: 100 },
    }),
  });
  try {
    const one = await admin(h.url, 'GET', `/requests/${id}`);
    expect(one.status, one.text).toBe(200);
    expect(one.body).toMatchObject({ id, attemptLog: [], traceId: null, detail: { attempts: [{ attempt: 1 }] } });
    const list = await admin(h.url, 'GET', '/requests');
    expect(list.body.data.find((r: { id: string }) => r.id === id)).toMatchObject({ traceId: null });
    const traceId = '0123456789abcdef0123456789abcdef';
    const res = await chat(h.url, chatBody('gpt-mini'), { headers: { traceparent: `00-${traceId}-0123456789abcdef-01` } });
    expect(res.status).toBe(200);
    const fresh = res.headers['x-gateway-request-id'] as string;
    const end = Date.now() + 5_000;
    let row: any;
    while (Date.now() < end) {
      const r = await admin(h.url, 'GET', `/requests/${fresh}`);
      if (r.status === 200) {
        row = r.body;
        break;
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    expect(row).toMatchObject({ traceId, attemptLog: [{ n: 1, deployment: 'd', outcome: 'success' }] });
  } finally {
    await h.close();
  }
}

describe('migration 4 on a request log with rows', () => {
  it('the embedded store', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'llmgw-migration-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const store = await openEmbeddedStore(dir);
    let id: string;
    try {
      id = await oldRow(store);
    } finally {
      await store.close();
    }
    await check({ dataDir: dir }, id);
  }, 120_000);

  it('PostgreSQL', async (ctx) => {
    if (!(await sharedPostgresAvailable())) return ctx.skip();
    const database = await createTestDatabase('console_migration');
    cleanup.push(() => database.drop());
    const store = openPostgresStore({ url: database.url, poolSize: 2, connectTimeoutMs: 2_000, statementTimeoutMs: 10_000, onError: () => undefined });
    let id: string;
    try {
      id = await oldRow(store);
    } finally {
      await store.close();
    }
    await check({ url: database.url }, id);
  }, 120_000);
});
