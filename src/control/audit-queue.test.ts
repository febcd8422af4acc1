import { asc, eq } from 'drizzle-orm';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { systemClock } from '../clock.js';
import { genesisHash, type AuditEvent } from './audit.js';
import { SECURITY_EVENT_BURST, SecurityAuditQueue } from './audit-queue.js';
import { verifyAudit } from './audit-verify.js';
import { openStore } from './store/open-store.js';
import { auditLog } from './store/schema.js';
import type { ControlDb, ControlStore } from './store/store.js';

/** The security-event queue on the embedded store: bounded under a flood, counts what it drops, never stuck. */
let store: ControlStore;

beforeAll(async () => {
  ({ store } = await openStore({ dataDir: ':memory:', poolSize: 1, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000 }, () => undefined));
}, 60_000);
afterAll(() => store?.close());
beforeEach(async () => {
  await store.transaction(async (tx) => {
    await tx.exec('DELETE FROM audit_log');
    await tx.exec(`UPDATE control_state SET audit_seq = 0, audit_hash = '${genesisHash}'`);
  });
});

const refused = (i: number): AuditEvent => ({ actor: { id: 'anonymous', type: 'anonymous' }, action: 'auth.refused', source: '127.0.0.1', requestId: `r-${i}`, after: { code: 'invalid_api_key' } });
const entries = () => store.db.select().from(auditLog).orderBy(asc(auditLog.seq));

async function until(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('SecurityAuditQueue', () => {
  it('holds at most 1,000 events under a flood, and records how many it dropped', async () => {
    let open = false;
    const errors: Error[] = [];
    const queue = new SecurityAuditQueue(() => (open ? store.db : undefined), systemClock, { onError: (err) => errors.push(err), onDropped: () => undefined });
    for (let i = 0; i < 5_000; i++) {
      queue.record(refused(i));
      expect(queue.pending).toBeLessThanOrEqual(1_000);
    }
    // A burst of SECURITY_EVENT_BURST is recorded one by one (plus what the rate refills meanwhile).
    const kept = queue.pending;
    expect(kept).toBeGreaterThanOrEqual(SECURITY_EVENT_BURST);
    expect(kept).toBeLessThan(SECURITY_EVENT_BURST + 50);
    open = true;
    await queue.close();
    const rows = await entries();
    expect(rows.filter((r) => r.action === 'auth.refused')).toHaveLength(kept);
    const dropped = rows.filter((r) => r.action === 'audit.dropped');
    expect(dropped.map((r) => r.after)).toEqual([{ events: 5_000 - kept }]);
    expect(dropped[0]).toMatchObject({ actor: 'gateway', actorType: 'system' });
    expect(await verifyAudit(store.db)).toMatchObject({ ok: true, entries: kept + 1 });
    expect(errors).toEqual([]);
  });

  it('writes what was queued while the store was down once it is back, without a new event to trigger it', async () => {
    let failures = 2;
    const flaky = new Proxy(store.db, {
      get(target, prop, receiver) {
        if (prop === 'transaction' && failures > 0) {
          failures--;
          return () => Promise.reject(Object.assign(new Error('Connection terminated unexpectedly'), { code: 'ECONNRESET' }));
        }
        return Reflect.get(target, prop, receiver);
      },
    }) as ControlDb;
    const errors: string[] = [];
    const queue = new SecurityAuditQueue(() => flaky, systemClock, { onError: (err) => errors.push(err.message), onDropped: () => undefined });
    queue.record(refused(1));
    queue.record(refused(2));
    await until(async () => (await entries()).length === 2);
    expect(errors).toEqual(['Connection terminated unexpectedly', 'Connection terminated unexpectedly']);
    expect(queue.pending).toBe(0);
    await queue.close();
  }, 20_000);

  it('writes an event carrying characters PostgreSQL refuses (NUL, lone surrogates) instead of blocking the queue behind it', async () => {
    const errors: Error[] = [];
    const queue = new SecurityAuditQueue(() => store.db, systemClock, { onError: (err) => errors.push(err), onDropped: () => undefined });
    // As a denied `GET /admin/v1/keys?team=%00%ED` would record it.
    queue.record({ actor: { id: 'key_1', type: 'key' }, action: 'access.denied', source: '127.0.0.1', requestId: 'r', after: { permission: 'key.read', team: 'x\u0000\ud800', route: 'GET /admin/v1/keys' } });
    queue.record(refused(2));
    await queue.close();
    expect(errors).toEqual([]);
    const rows = await entries();
    expect(rows.map((r) => r.action)).toEqual(['access.denied', 'auth.refused']);
    expect((await store.db.select().from(auditLog).where(eq(auditLog.action, 'access.denied')))[0]?.after).toMatchObject({ team: 'x\ufffd\ufffd' });
    expect(await verifyAudit(store.db)).toMatchObject({ ok: true, entries: 2 });
  });
});
