import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../control/audit.js';
import { openStore } from '../control/store/open-store.js';
import type { ControlStore } from '../control/store/store.js';
import { auditRoutes, EXPORT_MAX_BYTES } from './audit-routes.js';
import type { AdminCall, AdminReply } from './context.js';

/** The audit routes' own bounds, on the embedded store (the HTTP side is in test/admin-api.test.ts). */
let store: ControlStore;
const big = 'x'.repeat(100_000);

beforeAll(async () => {
  ({ store } = await openStore({ dataDir: ':memory:', poolSize: 1, connectTimeoutMs: 2_000, statementTimeoutMs: 10_000 }, () => undefined));
  // 100 entries of ~100 KB each (a change can carry two 64 KiB bodies): 10 MB in all.
  const events = Array.from({ length: 100 }, (_, i) => ({ actor: { id: 'bootstrap', type: 'bootstrap' as const }, action: 'team.updated', targetId: `t${i}`, after: { metadata: big } }));
  await store.db.transaction((tx) => appendAudit(tx, events, new Date()));
}, 60_000);
afterAll(() => store?.close());

function call(path: string, query: string): Promise<AdminReply> {
  const route = auditRoutes.find((r) => r.path === path);
  if (!route) throw new Error(path);
  const c = { query: new URLSearchParams(query), db: store.db, require: () => undefined } as unknown as AdminCall<never>;
  return route.handle(c);
}

describe('audit export', () => {
  it('stops a response at about 8 MiB, however many entries were asked for, and the cursor continues from there', async () => {
    const seqs: number[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const reply = await call('/audit/export', `limit=100000${cursor === undefined ? '' : `&cursor=${cursor}`}`);
      const body = reply.body as string;
      expect(body.length).toBeLessThanOrEqual(EXPORT_MAX_BYTES + 110_000);
      const lines = body.trimEnd().split('\n').map((l) => JSON.parse(l) as { seq: number });
      seqs.push(...lines.map((l) => l.seq));
      cursor = reply.headers?.['x-next-cursor'];
      if (cursor !== undefined) expect(cursor).toBe(String(lines.at(-1)?.seq));
      pages += 1;
    } while (cursor !== undefined && pages < 10);
    expect(pages).toBe(2);
    expect(seqs).toEqual(Array.from({ length: 100 }, (_, i) => i + 1));
  });

  it('matches a filter with a NUL as the log stores it, instead of failing the query', async () => {
    const reply = await call('/audit', 'actor=%00');
    expect(reply.body).toMatchObject({ data: [], nextCursor: null });
  });
});
