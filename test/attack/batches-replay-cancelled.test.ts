/**
 * Attack: an admin replays a dead letter of a batch the client cancelled. The replay put the item
 * back on the queue, but a cancelled batch never runs again (the runner claims only items of
 * batches in progress, and the sweep ends queued items only of `cancelling` ones): the item sat
 * `queued` forever, gone from the error file (its custom_id in neither file), the batch
 * `cancelled` with a pending item. A replay must only be taken when its item can run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { ADMIN_KEY, admin } from '../helpers/admin.js';
import { configKeyId, insertBatch, itemRows } from '../helpers/batch-runs.js';
import { deploymentFor, KEY, startHarness, type Harness } from '../helpers/harness.js';
import { batches, batchItems } from '../../src/control/store/schema.js';
import { builtFileContent } from '../../src/batches/file-content.js';

const keyId = configKeyId(KEY);

describe('replaying a dead letter of a cancelled batch', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai' }],
      env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
      config: (f) => ({
        deployments: { d: deploymentFor(f[0]!) },
        models: { m: { targets: [{ deployment: 'd', model: 'up' }] } },
        tenants: { main: { keys: [KEY], models: ['m'] } },
        admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
        state: { database: { dataDir: ':memory:' } },
        batches: { concurrency: 2, maxAttempts: 1, retryBackoffMs: 10, leaseMs: 1_000 },
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it.each(['cancelled', 'cancelling'] as const)('(%s) leaves every custom_id in the files exactly once', async (status) => {
    const db = h.gateway.controlDb!;
    // A batch as a cancel leaves it: line 0 failed (dead-lettered) before the cancel, line 1 cancelled.
    const id = await insertBatch(db, { team: 'main', keyId, bodies: [{ model: 'm', messages: [] }, { model: 'm', messages: [] }], status: 'in_progress' });
    const now = new Date();
    await db.update(batchItems).set({ state: 'failed', statusCode: 502, response: { error: { message: 'bad gateway' } }, finishedAt: now, deadLetteredAt: now, attempts: 1 }).where(eq(batchItems.line, 0));
    await db.update(batchItems).set({ state: 'cancelled', error: { code: 'batch_cancelled', message: 'cancelled' }, finishedAt: now }).where(eq(batchItems.line, 1));
    await db.update(batches).set({ status, failed: 1, pending: 0, cancellingAt: now, ...(status === 'cancelled' ? { cancelledAt: now } : {}) }).where(eq(batches.id, id));

    const replay = await admin(h.url, 'POST', `/dead-letters/${id}/0/replay`);
    expect([202, 409]).toContain(replay.status);
    // Whatever the answer, within a few runner rounds each custom_id is in the error file once.
    let lines: string[] = [];
    const deadline = Date.now() + 4_000;
    for (;;) {
      lines = [];
      for await (const piece of builtFileContent(db, id, 'batch_error')) lines.push(...piece.split('\n').filter((l) => l !== ''));
      const ids = lines.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id).sort();
      if (ids.join() === 'req-0,req-1' || Date.now() > deadline) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(lines.map((l) => (JSON.parse(l) as { custom_id: string }).custom_id).sort()).toEqual(['req-0', 'req-1']);
    const items = await itemRows(db, id);
    expect(items.every((i) => i.state !== 'queued' && i.state !== 'running')).toBe(true);
    // A replay refused leaves the dead letter on the list, with its answer.
    if (replay.status === 409) {
      expect(replay.body.error.code).toBe('resource_conflict');
      expect(items[0]).toMatchObject({ state: 'failed', statusCode: 502 });
      expect((await admin(h.url, 'GET', `/dead-letters/${id}/0`)).status).toBe(200);
    }
  });
});
