import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { SECURITY_EVENT_BURST, SECURITY_EVENT_RATE_PER_S } from '../../src/control/audit-queue.js';
import { admin, startAdminHarness } from '../helpers/admin.js';
import type { Harness } from '../helpers/harness.js';

/**
 * Anyone who reaches the admin API, without any credential, makes it record a security event
 * (`auth.refused`). The audit log only grows, so a flood of refused requests must not add a row
 * per request: the rows written are bounded by a rate, and the rest are counted in one entry.
 */
let h: Harness;

beforeAll(async () => {
  h = await startAdminHarness(['m']);
}, 60_000);
afterAll(() => h?.close());

async function lastSeq(): Promise<number> {
  return (await admin(h.url, 'GET', '/audit?limit=1')).body.data[0]?.seq ?? 0;
}

describe('a flood of refused admin requests', () => {
  it('writes at most a burst plus a rate of entries, and records how many it left out', async () => {
    const start = await lastSeq();
    const flood = 2 * SECURITY_EVENT_BURST + 100;
    const started = Date.now();
    let sent = 0;
    await Promise.all(
      Array.from({ length: 16 }, async () => {
        while (sent < flood) {
          sent++;
          const res = await request(`${h.url}/admin/v1/teams`, { headers: { authorization: 'Bearer not-a-key' } });
          await res.body.text();
          expect(res.statusCode).toBe(401);
        }
      }),
    );
    const seconds = (Date.now() - started) / 1000;
    // The queue flushes every 250 ms: read until every refusal is accounted for (or 5 s pass).
    let refused = 0;
    let droppedCount = 0;
    for (let i = 0; i < 100 && refused + droppedCount < flood; i++) {
      await new Promise((r) => setTimeout(r, 50));
      refused = (await admin(h.url, 'GET', `/audit?action=auth.refused&limit=1000&order=asc&cursor=${start}`)).body.data.length;
      const dropped: Array<{ after: { events: number } }> = (await admin(h.url, 'GET', `/audit?action=audit.dropped&limit=1000&order=asc&cursor=${start}`)).body.data;
      droppedCount = dropped.reduce((n, e) => n + e.after.events, 0);
    }
    // Each refusal is either written or counted; the written ones stay within the budget. (A
    // security event of the previous test may still have been queued when `start` was read, and
    // be written after it: a few more are allowed, never fewer.)
    expect(refused + droppedCount).toBeGreaterThanOrEqual(flood);
    expect(refused + droppedCount).toBeLessThanOrEqual(flood + 5);
    expect(refused).toBeLessThanOrEqual(SECURITY_EVENT_BURST + Math.ceil((seconds + 1) * SECURITY_EVENT_RATE_PER_S));
    expect(droppedCount).toBeGreaterThan(0);
    expect((await admin(h.url, 'GET', '/audit/verify')).body.ok).toBe(true);
  });
});
