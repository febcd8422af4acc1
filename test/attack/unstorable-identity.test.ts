import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appendAudit } from '../../src/control/audit.js';
import { verifyAudit } from '../../src/control/audit-verify.js';
import { openEmbeddedStore } from '../../src/control/store/embedded-store.js';
import { migrate } from '../../src/control/store/migrate.js';
import { FakeIdp, type FakeIdpKey } from '../../src/testing/fake-idp.js';
import { admin, startAdminHarness } from '../helpers/admin.js';
import type { Harness } from '../helpers/harness.js';

/**
 * A token the identity provider signed whose subject or team holds U+0000 or an unpaired
 * surrogate. Before: the caller's writes were 500s, and one denied call put an entry the
 * database refuses at the head of the security-event queue, which retries its batch until it
 * is written: no security event (refusals, denials, bootstrap use) was ever recorded again.
 */
let h: Harness;
let idp: FakeIdp;
let signer: FakeIdpKey;

beforeAll(async () => {
  idp = await FakeIdp.start();
  signer = await idp.addKey('ES256');
  h = await startAdminHarness(['m'], { identity: { jwt: { issuer: idp.issuer, audience: 'gateway', jwksUrl: idp.jwksUrl, algorithms: ['ES256'] } } });
}, 60_000);
afterAll(async () => {
  await h?.close();
  await idp?.close();
});

const token = (claims: Record<string, unknown>): Promise<string> => idp.sign(signer, { iss: idp.issuer, aud: 'gateway', exp: Math.floor(Date.now() / 1000) + 600, ...claims });

describe('identities and audit entries PostgreSQL cannot store', () => {
  it('refuses such a token at the admin API, and security events keep being recorded', async () => {
    for (const claims of [{ sub: 'evil\u0000', roles: ['admin'] }, { sub: 'ok', team: 't\u0000', roles: ['team_admin'] }, { sub: 'half\ud800', roles: ['member'] }]) {
      const r = await admin(h.url, 'POST', '/teams', { name: 'never' }, await token(claims));
      expect(r.status, r.text).toBe(401);
      expect(r.body.error.code).toBe('invalid_token');
      const denied = await admin(h.url, 'GET', '/audit', undefined, await token(claims));
      expect(denied.status).toBe(401);
    }
    // Later refusals are written (the queue flushes every 250 ms).
    await admin(h.url, 'GET', '/teams', undefined, 'marker-credential');
    let refused = 0;
    for (let i = 0; i < 100 && refused < 7; i++) {
      await new Promise((r) => setTimeout(r, 50));
      refused = (await admin(h.url, 'GET', '/audit?action=auth.refused')).body.data.length;
    }
    expect(refused).toBe(7);
  });

  it('writes an entry holding them with U+FFFD in their place, and the chain verifies', async () => {
    const store = await openEmbeddedStore(':memory:');
    try {
      await migrate(store);
      const bad = 'a\u0000b\ud800c\udc00';
      await store.db.transaction((tx) =>
        appendAudit(tx, [{ actor: { id: bad, type: 'user' }, action: `x.${bad}`, targetType: 'team', targetId: bad, source: bad, requestId: bad, before: { [bad]: [bad, { k: bad }] }, after: bad }], new Date()),
      );
      const verified = await verifyAudit(store.db);
      expect(verified).toMatchObject({ ok: true, entries: 1 });
    } finally {
      await store.close();
    }
  });
});
