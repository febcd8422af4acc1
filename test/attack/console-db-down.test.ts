/**
 * The console while the control plane's database is down (shared PostgreSQL behind a proxy
 * that goes silent): what holds. Access is decided from the last snapshot, as on the data plane
 * (docs/admin-api.md: "the data plane keeps serving with the keys it last loaded"), so an open
 * live stream keeps flowing and /live and /deployments still open (they read no table): the
 * console shows the outage rather than going blind with it. Routes that read the database answer
 * 503 within the statement deadline. A revocation cannot be made during the outage, and one made
 * before it stays enforced.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ADMIN_KEY, admin, openStream } from '../helpers/admin.js';
import { deploymentFor, startHarness, type Harness } from '../helpers/harness.js';
import { createTestDatabase, sharedPostgresAvailable } from '../helpers/postgres.js';
import { startTcpProxy, type TcpProxy } from '../helpers/tcp-proxy.js';

const available = await sharedPostgresAvailable();
let h: Harness;
let proxy: TcpProxy;
let database: Awaited<ReturnType<typeof createTestDatabase>>;

describe.skipIf(!available)('the console with the database down', () => {
  beforeAll(async () => {
    database = await createTestDatabase('console_db_down');
    proxy = await startTcpProxy(5432);
    const url = new URL(database.url);
    url.port = String(proxy.port);
    h = await startHarness({
      fakes: [{ dialect: 'openai' }],
      env: { GATEWAY_ADMIN_KEY: ADMIN_KEY, DB_URL: url.toString() },
      config: (f) => ({
        deployments: { d: deploymentFor(f[0]!) },
        models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'm' }] } },
        admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
        state: { database: { url: '${env:DB_URL}', connectTimeoutMs: 500, statementTimeoutMs: 1_000 } },
      }),
    });
  }, 60_000);

  afterAll(async () => {
    proxy?.heal();
    await Promise.race([h?.close(), new Promise((r) => setTimeout(r, 10_000).unref())]);
    await proxy?.close();
    await database?.drop();
  });

  it('a live stream keeps flowing and the live views still open; database routes answer 503 in bounded time', async () => {
    const s = await openStream(h.url);
    try {
      expect(s.status).toBe(200);
      await s.next((e) => e.event === 'tick');
      proxy.blackhole();
      const started = Date.now();
      const teams = await admin(h.url, 'GET', '/teams');
      expect(teams.status).toBe(503);
      expect(teams.body.error.code).toBe('control_plane_unavailable');
      expect(Date.now() - started).toBeLessThan(5_000);
      for (let i = 0; i < 3; i++) await s.next((e) => e.event === 'tick', 3_000);
      expect((await admin(h.url, 'GET', '/deployments')).status).toBe(200);
      const again = await openStream(h.url);
      expect(again.status).toBe(200);
      again.close();
    } finally {
      s.close();
    }
  }, 30_000);
});
