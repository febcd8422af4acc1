import { Writable } from 'node:stream';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { ADMIN_KEY, admin } from '../helpers/admin.js';
import { chat, chatBody, deploymentFor, startHarness, type Harness } from '../helpers/harness.js';
import { createTestDatabase, sharedPostgresAvailable } from '../helpers/postgres.js';

/**
 * The admin API on a PostgreSQL server under contention: a statement that times out behind a
 * lock, two changes that lock the same rows in opposite orders, racing rotate and revoke, and
 * many writers at once. Each answer is a success or a retryable 503, never a 500, nothing
 * hangs, and no digest or secret reaches a log line.
 */
const available = await sharedPostgresAvailable();

let h: Harness;
let db: Awaited<ReturnType<typeof createTestDatabase>>;
let sql: pg.Client;
const logLines: string[] = [];

beforeAll(async () => {
  if (!available) return;
  db = await createTestDatabase('attack_contention');
  const sink = new Writable({
    write(chunk, _enc, done) {
      logLines.push(String(chunk));
      done();
    },
  });
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY, DB_URL: db.url },
    logger: createLogger({ level: 'debug', format: 'json', destination: sink }),
    config: (f) => ({
      logging: { level: 'debug' },
      deployments: { d: deploymentFor(f[0]!) },
      models: { m: { targets: [{ deployment: 'd', model: 'm' }] } },
      admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
      state: { database: { url: '${env:DB_URL}', statementTimeoutMs: 1_000, poolSize: 4 } },
    }),
  });
  sql = new pg.Client({ connectionString: db.url });
  await sql.connect();
}, 60_000);

afterAll(async () => {
  await sql?.end();
  await h?.close();
  await db?.drop();
});

/** Resolves once `n` lock requests wait in the database (the calls under test are queued behind ours). */
async function waiters(n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await sql.query<{ n: number }>('SELECT count(*)::int AS n FROM pg_locks WHERE NOT granted')).rows[0]!.n < n) {
    if (Date.now() > deadline) throw new Error(`fewer than ${n} lock waits after 10 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(!available)('admin API under database contention', () => {
  it('answers a statement that times out behind a lock with a retryable 503, and logs no digest', async () => {
    expect((await admin(h.url, 'POST', '/teams', { name: 'locked' })).status).toBe(201);
    await sql.query('BEGIN');
    await sql.query('LOCK TABLE api_key_secrets IN SHARE MODE');
    let r;
    try {
      r = await admin(h.url, 'POST', '/keys', { team: 'locked' });
    } finally {
      await sql.query('ROLLBACK');
    }
    expect(r.status, r.text).toBe(503);
    expect(r.body.error.code).toBe('control_plane_unavailable');
    expect(r.headers['retry-after']).toBeDefined();
    // Nothing half-written: the key row went with the transaction.
    expect((await admin(h.url, 'GET', '/keys?team=locked')).body.data).toEqual([]);
    const logs = logLines.join('');
    expect(logs).not.toMatch(/[0-9a-f]{64}/);
    expect(logs).not.toMatch(/sk-gw-[A-Za-z0-9_-]{20}/);
    expect(logs).not.toContain(ADMIN_KEY);
  });

  it('a key update and its team’s deletion racing for the same rows do not deadlock', async () => {
    expect((await admin(h.url, 'POST', '/teams', { name: 'race', models: ['m'] })).status).toBe(201);
    const key = (await admin(h.url, 'POST', '/keys', { team: 'race' })).body;
    // Hold the team row so both calls queue behind it: the deletion first, then the update.
    await sql.query('BEGIN');
    await sql.query("SELECT name FROM teams WHERE name = 'race' FOR UPDATE");
    const deletion = admin(h.url, 'DELETE', '/teams/race');
    await waiters(1);
    const update = admin(h.url, 'PATCH', `/keys/${key.id}`, { models: ['m'] });
    await waiters(2);
    await sql.query('COMMIT');
    const [d, u] = await Promise.all([deletion, update]);
    expect(d.status, d.text).toBe(200);
    // The update ran after the deletion: its key is revoked, or its team is gone.
    expect([400, 409], u.text).toContain(u.status);
    expect((await chat(h.url, chatBody('m'), { key: key.key })).status).toBe(401);
  });

  it('racing rotate and revoke always end revoked, with no secret left working', async () => {
    expect((await admin(h.url, 'POST', '/teams', { name: 'churn' })).status).toBe(201);
    for (let i = 0; i < 5; i++) {
      const key = (await admin(h.url, 'POST', '/keys', { team: 'churn' })).body;
      const [rotated, again, revoked] = await Promise.all([
        admin(h.url, 'POST', `/keys/${key.id}/rotate`, { graceMs: 60_000 }),
        admin(h.url, 'POST', `/keys/${key.id}/rotate`, { graceMs: 0 }),
        admin(h.url, 'DELETE', `/keys/${key.id}`),
      ]);
      expect(revoked.status, revoked.text).toBe(200);
      for (const r of [rotated, again]) expect([200, 409], r.text).toContain(r.status);
      const secrets = [key.key, rotated.body.key, again.body.key].filter((k): k is string => typeof k === 'string');
      for (const secret of secrets) expect((await chat(h.url, chatBody('m'), { key: secret })).status).toBe(401);
      const rows = await sql.query('SELECT count(*)::int AS n FROM api_key_secrets WHERE key_id = $1', [key.id]);
      expect(rows.rows[0].n).toBe(0);
    }
  });

  it('many concurrent writers all finish, and every key they made works at once', async () => {
    expect((await admin(h.url, 'POST', '/teams', { name: 'busy' })).status).toBe(201);
    const started = Date.now();
    const results = await Promise.all(
      Array.from({ length: 8 }, async () => {
        const out = [];
        for (let i = 0; i < 6; i++) {
          const r = await admin(h.url, 'POST', '/keys', { team: 'busy', metadata: { writer: 'x' } });
          out.push(r);
          if (r.status === 201) await admin(h.url, 'PATCH', `/keys/${r.body.id}`, { name: `n${i}` });
        }
        return out;
      }),
    );
    const all = results.flat();
    for (const r of all) expect(r.status, r.text).toBe(201);
    console.log(`[attack] 8 writers: ${all.length * 2} admin writes in ${Date.now() - started} ms`);
    for (const r of all.slice(0, 8)) expect((await chat(h.url, chatBody('m'), { key: r.body.key })).status).toBe(200);
    expect((await admin(h.url, 'GET', '/audit/verify')).body.ok).toBe(true);
  });
});
