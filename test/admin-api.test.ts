import { createHash } from 'node:crypto';
import pg from 'pg';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, admin as adminCall, type AdminResult } from './helpers/admin.js';
import { chat, chatBody, deploymentFor, get, KEY, startHarness, type Harness } from './helpers/harness.js';
import { createTestDatabase, sharedPostgresAvailable } from './helpers/postgres.js';
import { AUDIT_LOCK } from '../src/control/audit.js';

/**
 * The admin API end to end, the same suite on the embedded store (PGlite) and on the PostgreSQL
 * server at 127.0.0.1:5432 (a database of its own; skipped with a message when absent, except
 * under CI=true): teams and keys made at runtime, used on the data plane at once, rotated,
 * revoked, expired; config teams and keys read-only; bad input named by path; nothing
 * half-written; the audit log filtered, paged, exported, bounded under a flood, and free of secrets.
 */
const pgAvailable = await sharedPostgresAvailable();

describe.each([
  { store: 'embedded (PGlite)', server: false },
  { store: 'postgres server', server: true },
])('admin API on $store', ({ server }) => {
  describe.skipIf(server && !pgAvailable)('', () => {
    let h: Harness;
    let database: { url: string; drop(): Promise<void> } | undefined;
    /** Every secret the API handed out, to search the audit log for at the end. */
    const secrets: string[] = [KEY, ADMIN_KEY];
    const admin = async (...args: Parameters<typeof adminCall>): Promise<AdminResult> => {
      const result = await adminCall(...args);
      if (typeof result.body?.key === 'string') secrets.push(result.body.key);
      return result;
    };

    beforeAll(async () => {
      database = server ? await createTestDatabase('admin_api') : undefined;
      h = await startHarness({
        fakes: [{ dialect: 'openai' }],
        env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
        config: (f) => ({
          deployments: { d: deploymentFor(f[0]!) },
          models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'm' }] }, other: { targets: [{ deployment: 'd', model: 'm' }] } },
          admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
          state: { database: database ? { url: database.url } : { dataDir: ':memory:' } },
        }),
      });
    }, 60_000);
    afterAll(async () => {
      await h?.close();
      await database?.drop();
    });

    describe('admin API: teams and keys at runtime', () => {
      it('creates a team and a key, and the key calls an allowed model at once', async () => {
        const team = await admin(h.url, 'POST', '/teams', { name: 'search', models: ['gpt-mini'] });
        expect(team.status, team.text).toBe(201);
        expect(team.body).toMatchObject({ name: 'search', source: 'api', models: ['gpt-mini'] });
        const key = await admin(h.url, 'POST', '/keys', { team: 'search', name: 'ci' });
        expect(key.status, key.text).toBe(201);
        expect(key.body.key).toMatch(/^sk-gw-[A-Za-z0-9_-]{43}$/);
        expect(key.body.prefix).toBe(key.body.key.slice(0, 12));
        expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(200);
        const refused = await chat(h.url, chatBody('other'), { key: key.body.key });
        expect(refused.status).toBe(403);
        // Never the secret again: not in get, not in list.
        const got = await admin(h.url, 'GET', `/keys/${key.body.id}`);
        expect(got.text).not.toContain(key.body.key);
        expect(got.body).toMatchObject({ id: key.body.id, team: 'search', source: 'api', prefix: key.body.prefix });
        const list = await admin(h.url, 'GET', '/keys?team=search');
        expect(list.text).not.toContain(key.body.key);
        expect(list.body.data.map((k: { id: string }) => k.id)).toContain(key.body.id);
      });

      it('revokes a key: refused at once on this replica', async () => {
        await admin(h.url, 'POST', '/teams', { name: 'revoke-me' });
        const key = await admin(h.url, 'POST', '/keys', { team: 'revoke-me' });
        expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(200);
        const revoked = await admin(h.url, 'DELETE', `/keys/${key.body.id}`);
        expect(revoked.status).toBe(200);
        expect(revoked.body.revokedAt).toBeTruthy();
        const after = await chat(h.url, chatBody('gpt-mini'), { key: key.body.key });
        expect(after.status).toBe(401);
        expect(after.json().error.code).toBe('invalid_api_key');
      });

      it('rotates a key: the new secret works, the old one until its grace ends', async () => {
        await admin(h.url, 'POST', '/teams', { name: 'rotate' });
        const key = await admin(h.url, 'POST', '/keys', { team: 'rotate' });
        const withGrace = await admin(h.url, 'POST', `/keys/${key.body.id}/rotate`, {});
        expect(withGrace.status, withGrace.text).toBe(200);
        expect(withGrace.body.key).not.toBe(key.body.key);
        expect((await chat(h.url, chatBody('gpt-mini'), { key: withGrace.body.key })).status).toBe(200);
        expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(200);
        const now = await admin(h.url, 'POST', `/keys/${key.body.id}/rotate`, { graceMs: 0 });
        expect((await chat(h.url, chatBody('gpt-mini'), { key: now.body.key })).status).toBe(200);
        for (const old of [key.body.key, withGrace.body.key]) expect((await chat(h.url, chatBody('gpt-mini'), { key: old })).status).toBe(401);
      });

      it('refuses an expired key with 401 api_key_expired', async () => {
        await admin(h.url, 'POST', '/teams', { name: 'expiring' });
        // 4 s of validity, so the first call lands inside it even on a busy machine; then wait
        // until the instant has passed rather than for a fixed time.
        const expiresAtMs = Date.now() + 4_000;
        const key = await admin(h.url, 'POST', '/keys', { team: 'expiring', expiresAt: new Date(expiresAtMs).toISOString() });
        expect(key.status, key.text).toBe(201);
        expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(200);
        await new Promise((r) => setTimeout(r, Math.max(0, expiresAtMs - Date.now()) + 50));
        const expired = await chat(h.url, chatBody('gpt-mini'), { key: key.body.key });
        expect(expired.status).toBe(401);
        expect(expired.json().error).toMatchObject({ code: 'api_key_expired', type: 'authentication_error' });
        expect(expired.json().error.message).toMatch(/expired/);
      });

      it('shows config teams and keys as read-only (source: config)', async () => {
        const teams = await admin(h.url, 'GET', '/teams');
        expect(teams.body.data).toContainEqual(expect.objectContaining({ name: 'main', source: 'config' }));
        const keys = await admin(h.url, 'GET', '/keys?team=main');
        expect(keys.body.data).toEqual([expect.objectContaining({ id: 'config:main:0', source: 'config', prefix: null })]);
        expect(keys.text).not.toContain(KEY);
        expect((await admin(h.url, 'PATCH', '/teams/main', { models: ['other'] })).body.error.code).toBe('resource_conflict');
        expect((await admin(h.url, 'DELETE', '/keys/config:main:0')).status).toBe(409);
        expect((await admin(h.url, 'POST', '/teams', { name: 'main' })).status).toBe(409);
        // An API key for a config team works like any other.
        const key = await admin(h.url, 'POST', '/keys', { team: 'main', models: ['other'] });
        expect(key.status, key.text).toBe(201);
        expect((await chat(h.url, chatBody('other'), { key: key.body.key })).status).toBe(200);
        expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(403);
      });

      it('names every invalid field by path and writes nothing', async () => {
        const before = await admin(h.url, 'GET', '/teams');
        const bad = await admin(h.url, 'POST', '/teams', { name: 'bad name!', models: [], limits: { requests: { capacity: -1, refillPerSecond: 1 } }, colour: 'red' });
        expect(bad.status).toBe(400);
        expect(bad.body.error.type).toBe('invalid_request_error');
        for (const path of ['name', 'models', 'limits.requests.capacity', 'colour']) expect(bad.body.error.message).toContain(path);
        expect(bad.body.error.param).toBe('name');
        const unknownModel = await admin(h.url, 'POST', '/teams', { name: 'typo', models: ['gpt-mini', 'gpt-mnii'] });
        expect(unknownModel.status).toBe(400);
        expect(unknownModel.body.error.param).toBe('models[1]');
        const notSubset = await admin(h.url, 'POST', '/keys', { team: 'search', models: ['other'] });
        expect(notSubset.status).toBe(400);
        expect(notSubset.body.error.param).toBe('models[0]');
        expect((await admin(h.url, 'POST', '/keys', { team: 'nobody' })).body.error.param).toBe('team');
        expect((await admin(h.url, 'GET', '/teams')).body.data).toEqual(before.body.data);
      });

      it('answers 401 without a credential and 404 for an unknown key', async () => {
        expect((await admin(h.url, 'GET', '/teams', undefined, null)).status).toBe(401);
        expect((await admin(h.url, 'GET', '/teams', undefined, 'not-the-admin-key')).status).toBe(401);
        expect((await admin(h.url, 'GET', '/keys/key_0000000000000000')).status).toBe(404);
      });

      it('records each change in the audit log, and the chain verifies', async () => {
        const entries = await admin(h.url, 'GET', '/audit?targetType=team&targetId=search');
        expect(entries.body.data.map((e: { action: string }) => e.action)).toContain('team.created');
        const created = entries.body.data.find((e: { action: string }) => e.action === 'team.created');
        expect(created).toMatchObject({ actor: 'bootstrap', actorType: 'bootstrap', targetType: 'team', targetId: 'search' });
        expect(created.requestId).toMatch(/^[0-9a-f-]{36}$/);
        const verify = await admin(h.url, 'GET', '/audit/verify');
        expect(verify.body).toMatchObject({ ok: true });
        expect(verify.body.entries).toBeGreaterThan(5);
        const everything = await admin(h.url, 'GET', '/audit?limit=1000');
        // No secret anywhere in the log.
        expect(everything.text).not.toMatch(/sk-gw-[A-Za-z0-9_-]{20}/);
        expect(everything.text).not.toContain(ADMIN_KEY);
      });

      it('serves its OpenAPI document', async () => {
        const doc = await get(h.url, '/admin/v1/openapi.json', null);
        expect(doc.status).toBe(200);
        expect(doc.json().openapi).toBe('3.1.0');
      });
    });

    describe('audit log', () => {
      /** Every page of GET /audit with these filters, following nextCursor (bounded). */
      async function allPages(query: string, limit: number): Promise<Array<{ seq: number; [k: string]: any }>> {
        const out: Array<{ seq: number; [k: string]: any }> = [];
        let cursor: string | null = null;
        for (let page = 0; page < 200; page++) {
          const res = await admin(h.url, 'GET', `/audit?${query}&limit=${limit}${cursor === null ? '' : `&cursor=${cursor}`}`);
          expect(res.status, res.text).toBe(200);
          expect(res.body.data.length).toBeLessThanOrEqual(limit);
          out.push(...res.body.data);
          cursor = res.body.nextCursor;
          if (cursor === null) return out;
        }
        throw new Error('paging did not end');
      }

      /** The whole log through GET /audit/export, page by page (x-next-cursor). */
      async function exportAll(): Promise<string> {
        let text = '';
        let cursor: string | undefined;
        for (let page = 0; page < 100; page++) {
          const res = await admin(h.url, 'GET', `/audit/export?limit=100000${cursor === undefined ? '' : `&cursor=${cursor}`}`);
          expect(res.status).toBe(200);
          text += res.text;
          cursor = res.headers['x-next-cursor'];
          if (cursor === undefined) return text;
        }
        throw new Error('export did not end');
      }

      const seqs = (entries: ReadonlyArray<{ seq: number }>): number[] => entries.map((e) => e.seq);

      it('filters by actor, action, target and time, and pages with a cursor in both orders', async () => {
        expect((await admin(h.url, 'POST', '/teams', { name: 'audited', models: ['gpt-mini'] })).status).toBe(201);
        const lead = await admin(h.url, 'POST', '/keys', { team: 'audited', role: 'team_admin' });
        expect(lead.status, lead.text).toBe(201);
        const made: AdminResult[] = [];
        for (let i = 0; i < 5; i++) made.push(await admin(h.url, 'POST', '/keys', { team: 'audited', name: `k${i}` }, lead.body.key));
        for (const m of made) expect(m.status, m.text).toBe(201);
        expect((await admin(h.url, 'DELETE', `/keys/${made[0]!.body.id}`, undefined, lead.body.key)).status).toBe(200);
        const leadId: string = lead.body.id;

        const byLead = (await admin(h.url, 'GET', `/audit?actor=${leadId}`)).body.data;
        expect(byLead.map((e: { action: string }) => e.action)).toEqual(['key.revoked', ...Array(5).fill('key.created')]);
        for (const e of byLead) expect(e).toMatchObject({ actor: leadId, actorType: 'key', targetType: 'key' });
        expect(seqs(byLead)).toEqual([...seqs(byLead)].sort((a, b) => b - a));
        expect((await admin(h.url, 'GET', `/audit?actor=${leadId}&action=key.created`)).body.data).toHaveLength(5);
        const team = (await admin(h.url, 'GET', '/audit?targetType=team&targetId=audited')).body.data;
        expect(team).toEqual([expect.objectContaining({ action: 'team.created', actor: 'bootstrap', targetId: 'audited' })]);
        const oneKey = (await admin(h.url, 'GET', `/audit?targetType=key&targetId=${made[0]!.body.id}`)).body.data;
        expect(oneKey.map((e: { action: string }) => e.action)).toEqual(['key.revoked', 'key.created']);
        expect((await admin(h.url, 'GET', '/audit?action=no.such.action')).body).toEqual({ object: 'list', data: [], nextCursor: null });

        // Time: since is inclusive, until exclusive; each instant compared as the API shows it.
        const ascending = (await admin(h.url, 'GET', `/audit?actor=${leadId}&order=asc`)).body.data as Array<{ seq: number; at: string }>;
        const mid = ascending[3]!.at;
        const since = (await admin(h.url, 'GET', `/audit?actor=${leadId}&order=asc&since=${mid}`)).body.data;
        expect(seqs(since)).toEqual(seqs(ascending.filter((e) => e.at >= mid)));
        expect(seqs(since)).toContain(ascending[3]!.seq);
        const until = (await admin(h.url, 'GET', `/audit?actor=${leadId}&order=asc&until=${mid}`)).body.data;
        expect(seqs(until)).toEqual(seqs(ascending.filter((e) => e.at < mid)));
        expect((await admin(h.url, 'GET', `/audit?actor=${leadId}&since=${mid}&until=${mid}`)).body.data).toEqual([]);

        // Pages of 1 and 4, newest first and oldest first: every entry once, in order.
        for (const limit of [1, 4]) {
          expect(seqs(await allPages(`actor=${leadId}`, limit))).toEqual(seqs(byLead));
          expect(seqs(await allPages(`actor=${leadId}&order=asc`, limit))).toEqual(seqs(byLead).reverse());
        }
        const firstPage = (await admin(h.url, 'GET', `/audit?actor=${leadId}&limit=6`)).body;
        expect(firstPage.nextCursor).toBeNull();

        for (const [query, param] of [
          ['order=sideways', 'order'],
          ['limit=0', 'limit'],
          ['limit=1001', 'limit'],
          ['cursor=abc', 'cursor'],
          ['cursor=-1', 'cursor'],
          ['since=yesterday', 'since'],
          ['until=2026-13-45T00:00:00Z', 'until'],
          [`actor=${'a'.repeat(257)}`, 'actor'],
        ] as const) {
          const res = await admin(h.url, 'GET', `/audit?${query}`);
          expect(res.status, query).toBe(400);
          expect(res.body.error.param, query).toBe(param);
        }
      });

      it('exports JSON lines oldest first, paged by x-next-cursor, within its bounds', async () => {
        for (const name of ['exported-1', 'exported-2']) expect((await admin(h.url, 'POST', '/teams', { name })).status).toBe(201);
        const first = await admin(h.url, 'GET', '/audit/export?limit=5');
        expect(first.status).toBe(200);
        expect(first.headers['content-type']).toMatch(/^application\/x-ndjson/);
        const firstLines = first.text.trimEnd().split('\n').map((l) => JSON.parse(l));
        expect(seqs(firstLines)).toEqual([1, 2, 3, 4, 5]);
        expect(first.headers['x-next-cursor']).toBe('5');
        expect(firstLines[0]).toMatchObject({ prevHash: '0'.repeat(64), hash: expect.stringMatching(/^[0-9a-f]{64}$/), at: expect.stringMatching(/Z$/) });
        // Following the cursor gives every entry once, in order, each chained to the one before.
        const all = [...firstLines];
        let cursor = first.headers['x-next-cursor'];
        for (let page = 0; cursor !== undefined && page < 500; page++) {
          const res = await admin(h.url, 'GET', `/audit/export?limit=7&cursor=${cursor}`);
          const lines = res.text.trimEnd().split('\n').map((l) => JSON.parse(l));
          expect(lines.length).toBeLessThanOrEqual(7);
          all.push(...lines);
          cursor = res.headers['x-next-cursor'];
          if (cursor !== undefined) expect(cursor).toBe(String(lines.at(-1).seq));
        }
        expect(cursor).toBeUndefined();
        expect(seqs(all)).toEqual(all.map((_, i) => i + 1));
        for (let i = 1; i < all.length; i++) expect(all[i].prevHash).toBe(all[i - 1].hash);
        // Filters, and the end of the log.
        const created = await admin(h.url, 'GET', '/audit/export?action=team.created&limit=2');
        const createdLines = created.text.trimEnd().split('\n').map((l) => JSON.parse(l));
        expect(createdLines.map((e) => e.action)).toEqual(['team.created', 'team.created']);
        expect(created.headers['x-next-cursor']).toBe(String(createdLines[1].seq));
        const past = await admin(h.url, 'GET', '/audit/export?cursor=9007199254740991');
        expect([past.status, past.text, past.headers['x-next-cursor']]).toEqual([200, '', undefined]);
        for (const [query, param] of [
          ['limit=0', 'limit'],
          ['limit=100001', 'limit'],
          ['limit=1.5', 'limit'],
          ['cursor=-1', 'cursor'],
          ['since=not-a-date', 'since'],
        ] as const) {
          const res = await admin(h.url, 'GET', `/audit/export?${query}`);
          expect(res.status, query).toBe(400);
          expect(res.body.error.param, query).toBe(param);
        }
        expect((await admin(h.url, 'GET', '/audit/export?limit=100000')).status).toBe(200);
      });

      it('verifies against an anchor (a head saved earlier), and refuses a malformed one', async () => {
        expect((await admin(h.url, 'POST', '/teams', { name: 'anchored' })).status).toBe(201);
        const before = await admin(h.url, 'GET', '/audit/verify');
        expect(before.body).toMatchObject({ ok: true, head: { seq: expect.any(Number), hash: expect.stringMatching(/^[0-9a-f]{64}$/) } });
        const anchor = `${before.body.head.seq}:${before.body.head.hash}`;
        expect((await admin(h.url, 'GET', `/audit/verify?anchor=${anchor}`)).body).toMatchObject({ ok: true });
        const wrong = await admin(h.url, 'GET', `/audit/verify?anchor=${before.body.head.seq}:${'e'.repeat(64)}`);
        expect(wrong.body).toMatchObject({ ok: false, firstBad: { seq: before.body.head.seq, problem: 'anchor' } });
        const malformed = await admin(h.url, 'GET', '/audit/verify?anchor=12:xyz');
        expect([malformed.status, malformed.body.error.param]).toEqual([400, 'anchor']);
      });

      it('a NUL in a filter is a 400 before it reaches the database; the denied calls around it are recorded and the chain verifies', async () => {
        const lead = await admin(h.url, 'POST', '/keys', { team: 'audited', role: 'team_admin' });
        const nul = await admin(h.url, 'GET', '/keys?team=%00%ED', undefined, lead.body.key);
        expect(nul.status).toBe(400);
        const denied = await admin(h.url, 'GET', '/keys?team=%ED-other', undefined, lead.body.key);
        expect(denied.status).toBe(403);
        const deadline = Date.now() + 10_000;
        let entry;
        while (!entry && Date.now() < deadline) {
          entry = (await admin(h.url, 'GET', `/audit?actor=${lead.body.id}&action=access.denied`)).body.data[0];
          if (!entry) await new Promise((r) => setTimeout(r, 50));
        }
        expect(entry).toMatchObject({ after: { permission: 'key.read', team: '\ufffd-other', route: 'GET /admin/v1/keys' } });
        expect((await admin(h.url, 'GET', '/audit/verify')).body).toMatchObject({ ok: true });
      });

      it('a flood of 5,000 bad-credential calls is accounted for: recorded, or counted in audit.dropped; with writes held back, at most 1,000 queued', async () => {
        const route = 'GET /admin/v1/audit/verify';
        let monitoringReads = 0;
        const floodEntries = async (): Promise<{ refused: number; dropped: number[] }> => {
          monitoringReads++;
          const lines = (await exportAll()).trimEnd().split('\n').map((l) => JSON.parse(l));
          return {
            refused: lines.filter((e) => e.action === 'auth.refused' && e.after?.route === route).length,
            dropped: lines.filter((e) => e.action === 'audit.dropped').map((e) => e.after.events),
          };
        };
        expect(await floodEntries()).toEqual({ refused: 0, dropped: [] });
        // On the server, the flood arrives while another session holds the chain's lock (a slow
        // database): nothing can be written, so the queue must hold its bound.
        let locker: pg.Client | undefined;
        if (database) {
          locker = new pg.Client({ connectionString: database.url });
          await locker.connect();
          await locker.query('SELECT pg_advisory_lock($1::bigint)', [AUDIT_LOCK.toString()]);
        }
        const agent = new Agent({ connections: 16 });
        const statuses = new Map<number, number>();
        let next = 0;
        try {
          await Promise.all(
            Array.from({ length: 32 }, async () => {
              while (next < 5_000) {
                const i = next++;
                const res = await request(`${h.url}/admin/v1/audit/verify`, { headers: { authorization: `Bearer flood-wrong-key-${i}` }, dispatcher: agent });
                await res.body.text();
                statuses.set(res.statusCode, (statuses.get(res.statusCode) ?? 0) + 1);
              }
            }),
          );
        } finally {
          await agent.close();
          await locker?.query('SELECT pg_advisory_unlock($1::bigint)', [AUDIT_LOCK.toString()]);
          await locker?.end();
        }
        expect([...statuses]).toEqual([[401, 5_000]]);
        // Every call is accounted for: recorded, or counted as dropped. The count may also hold
        // bootstrap.used events of this test's own reads made while the queue was still full.
        const deadline = Date.now() + 30_000;
        let seen = await floodEntries();
        const total = (): number => seen.refused + seen.dropped.reduce((a, b) => a + b, 0);
        while (total() < 5_000 && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 200));
          seen = await floodEntries();
        }
        expect(total()).toBeGreaterThanOrEqual(5_000);
        expect(total()).toBeLessThanOrEqual(5_000 + monitoringReads);
        if (database) {
          // The writes were blocked for the whole flood: the queue kept at most 1,000 events.
          expect(seen.refused).toBeLessThanOrEqual(1_000);
          expect(seen.dropped.length).toBeGreaterThan(0);
          expect(seen.dropped.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(4_000);
        }
        expect((await admin(h.url, 'GET', '/audit/verify')).body).toMatchObject({ ok: true });
      }, 90_000);

      it('never records a secret: no key secret, bootstrap key, presented credential or digest anywhere in the exported log', async () => {
        // Its own secrets, besides every one the suite handed out before it.
        expect((await admin(h.url, 'POST', '/teams', { name: 'secretive' })).status).toBe(201);
        const key = await admin(h.url, 'POST', '/keys', { team: 'secretive', metadata: { owner: 'ci' } });
        await admin(h.url, 'POST', `/keys/${key.body.id}/rotate`, {});
        const presented = `sk-gw-${'p'.repeat(43)}`;
        expect((await admin(h.url, 'GET', '/teams', undefined, presented)).status).toBe(401);
        const deadline = Date.now() + 10_000;
        let log = await exportAll();
        while (!log.includes('"route":"GET /admin/v1/teams"') && Date.now() < deadline) {
          await new Promise((r) => setTimeout(r, 50));
          log = await exportAll();
        }
        for (const action of ['"key.created"', '"key.rotated"', '"auth.refused"', '"bootstrap.used"']) expect(log).toContain(action);
        secrets.push(presented);
        expect(secrets.length).toBeGreaterThanOrEqual(5);
        const digests = secrets.flatMap((s) => [createHash('sha256').update(s, 'latin1').digest('hex'), createHash('sha256').update(s, 'latin1').digest('base64')]);
        for (const s of [...secrets, ...digests]) expect(log.includes(s), `${s.slice(0, 10)}… is in the audit log`).toBe(false);
        expect(log).not.toMatch(/sk-gw-[A-Za-z0-9_-]{7,}/);
        expect(log).not.toContain('flood-wrong-key');
        expect(log).not.toMatch(/"(digest|secret|key)":/);
      });
    });
  });
});
