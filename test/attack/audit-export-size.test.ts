import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EXPORT_MAX_BYTES } from '../../src/admin/audit-routes.js';
import { ADMIN_KEY } from '../helpers/admin.js';
import { deploymentFor, startHarness, type Harness } from '../helpers/harness.js';
import { createTestDatabase, sharedPostgresAvailable } from '../helpers/postgres.js';

/**
 * `GET /audit/export?limit=100000` built the whole answer in memory. A team admin can make
 * entries of ~100 KB each (a key's before and after, every field at its limit), so the entry
 * limit alone let one export hold gigabytes: the answer also stops at a byte budget and says
 * where to continue. (The rows are written straight into the table: the export does not check
 * the chain, and 20 MB of entries through the API would take minutes.)
 */
const available = await sharedPostgresAvailable();

let h: Harness;
let db: Awaited<ReturnType<typeof createTestDatabase>>;

beforeAll(async () => {
  if (!available) return;
  db = await createTestDatabase('attack_export');
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY, DB_URL: db.url },
    config: (f) => ({
      deployments: { d: deploymentFor(f[0]!) },
      models: { m: { targets: [{ deployment: 'd', model: 'm' }] } },
      admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
      state: { database: { url: '${env:DB_URL}' } },
    }),
  });
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    // Entries of ~100 KB, 1.5 times the budget in all.
    const rows = Math.ceil((1.5 * EXPORT_MAX_BYTES) / 100_000);
    await client.query(
      `INSERT INTO audit_log (seq, at, actor, actor_type, action, before, after, prev_hash, hash)
       SELECT g, now(), 'key_x', 'key', 'key.updated', jsonb_build_object('metadata', repeat('b', 50000)), jsonb_build_object('metadata', repeat('a', 50000)), '', ''
       FROM generate_series(1, $1::int) g`,
      [rows],
    );
  } finally {
    await client.end();
  }
}, 60_000);

afterAll(async () => {
  await h?.close();
  await db?.drop();
});

async function exportPage(cursor?: string): Promise<{ bytes: number; seqs: number[]; next: string | undefined }> {
  const res = await request(`${h.url}/admin/v1/audit/export?limit=100000${cursor ? `&cursor=${cursor}` : ''}`, {
    headers: { authorization: `Bearer ${ADMIN_KEY}` },
    headersTimeout: 30_000,
    bodyTimeout: 30_000,
  });
  const text = await res.body.text();
  expect(res.statusCode).toBe(200);
  const seqs = text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => (JSON.parse(l) as { seq: number }).seq);
  const next = res.headers['x-next-cursor'];
  return { bytes: Buffer.byteLength(text), seqs, next: typeof next === 'string' ? next : undefined };
}

describe.skipIf(!available)('audit export of very large entries', () => {
  it('stops each answer near the byte budget, and the cursor continues where it stopped', async () => {
    const first = await exportPage();
    expect(first.bytes).toBeLessThanOrEqual(EXPORT_MAX_BYTES + 200_000);
    expect(first.next).toBe(String(first.seqs.at(-1)));
    const second = await exportPage(first.next);
    expect(second.next).toBeUndefined();
    const all = [...first.seqs, ...second.seqs];
    expect(all).toEqual(Array.from({ length: all.length }, (_, i) => i + 1));
    expect(all.length).toBe(Math.ceil((1.5 * EXPORT_MAX_BYTES) / 100_000));
  });
});
