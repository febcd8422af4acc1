import { sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from './open-store.js';
import type { ControlStore } from './store.js';

// The embedded database runs statements on the event loop: queued ones must leave it turns
// between them (embedded-store.ts: takeTurns), or a burst of queries holds every request.
describe('embedded database statements take turns with the event loop', () => {
  let store: ControlStore;
  beforeAll(async () => {
    ({ store } = await openStore({ dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 }, () => undefined));
  }, 60_000);
  afterAll(async () => {
    await store?.close();
  });

  it('I/O scheduled while 50 statements are queued runs after at most one of them', async () => {
    let done = 0;
    const queries = Array.from({ length: 50 }, () => store.db.execute(sql`SELECT 1`).then(() => done++));
    const seenByIo = await new Promise<number>((resolve) => setImmediate(() => resolve(done)));
    await Promise.all(queries);
    expect(done).toBe(50);
    expect(seenByIo).toBeLessThanOrEqual(1);
  });
});
