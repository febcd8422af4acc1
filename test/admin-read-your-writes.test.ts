import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, admin, startAdminHarness } from './helpers/admin.js';
import { chat, chatBody, deploymentFor, metricValue, scrapeMetrics, startHarness, type Harness } from './helpers/harness.js';
import { createTestDatabase, sharedPostgresAvailable } from './helpers/postgres.js';

/**
 * A key is usable on the replica that issued it as soon as the admin call answers, even while
 * other changes reload the snapshot at the same moment: the refresh after a write waits for a
 * load that began after the write committed, not for one already running. (On a PostgreSQL
 * server, where loads and writes run on separate connections, the old refresh lost this race.)
 */
const pgAvailable = await sharedPostgresAvailable();

describe.each([
  ['embedded', false],
  ['postgres server', true],
] as const)('read-your-writes: %s store', (_label, server) => {
  let h: Harness;
  let drop: (() => Promise<void>) | undefined;

  beforeAll(async () => {
    if (server && !pgAvailable) return;
    const db = server ? await createTestDatabase('ryw') : undefined;
    drop = db?.drop;
    h = await startHarness({
      fakes: [{ dialect: 'openai' }],
      env: { GATEWAY_ADMIN_KEY: ADMIN_KEY },
      config: (f) => ({
        deployments: { d: deploymentFor(f[0]!) },
        models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'm' }] } },
        admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
        state: { database: db ? { url: db.url } : { dataDir: ':memory:' } },
      }),
    });
    expect((await admin(h.url, 'POST', '/teams', { name: 'burst' })).status).toBe(201);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await drop?.();
  });

  it.skipIf(server && !pgAvailable)('keys issued concurrently each work the moment their call answers', async () => {
    const statuses = await Promise.all(
      Array.from({ length: 24 }, async () => {
        const key = await admin(h.url, 'POST', '/keys', { team: 'burst' });
        expect(key.status, key.text).toBe(201);
        return (await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status;
      }),
    );
    expect(statuses).toEqual(statuses.map(() => 200));
  }, 60_000);
});

describe('lastUsedAt', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startAdminHarness(['gpt-mini'], { state: { database: { lastUsedFlushMs: 1_000 } } });
  }, 60_000);
  afterAll(() => h?.close());

  it('is written in batches, not per request, and only moves forward', async () => {
    expect((await admin(h.url, 'POST', '/teams', { name: 'used' })).status).toBe(201);
    const key = await admin(h.url, 'POST', '/keys', { team: 'used' });
    expect(key.body.lastUsedAt).toBeNull();
    const before = Date.now();
    for (let i = 0; i < 20; i++) expect((await chat(h.url, chatBody('gpt-mini'), { key: key.body.key })).status).toBe(200);
    // Not yet written: the requests themselves never touch the database.
    const early = await admin(h.url, 'GET', `/keys/${key.body.id}`);
    const deadline = Date.now() + 5_000;
    let seen: string | null = early.body.lastUsedAt;
    while (seen === null && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
      seen = (await admin(h.url, 'GET', `/keys/${key.body.id}`)).body.lastUsedAt;
    }
    expect(seen).not.toBeNull();
    expect(Date.parse(seen as string)).toBeGreaterThanOrEqual(before - 1);
    expect(Date.parse(seen as string)).toBeLessThanOrEqual(Date.now());
  }, 30_000);

  it('is visible in the control-plane metrics, which a gateway without a control plane does not have', async () => {
    const text = await scrapeMetrics(h.url);
    expect(metricValue(text, 'gateway_control_plane_up')).toBe(1);
    expect(metricValue(text, 'gateway_control_plane_api_keys')).toBeGreaterThanOrEqual(1);
    expect(metricValue(text, 'gateway_control_plane_snapshot_version')).toBeGreaterThan(1);
    const plain = await startHarness({ fakes: [{ dialect: 'openai' }], config: (f) => ({ deployments: { d: deploymentFor(f[0]!) }, models: { m: { targets: [{ deployment: 'd', model: 'm' }] } } }) });
    try {
      expect(await scrapeMetrics(plain.url)).not.toMatch(/gateway_control_plane|gateway_audit/);
    } finally {
      await plain.close();
    }
  });
});
