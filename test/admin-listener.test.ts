import { pino } from 'pino';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createGateway, type Gateway } from '../src/app.js';
import { harnessConfig } from './helpers/harness.js';
import { ADMIN_KEY, admin } from './helpers/admin.js';

/**
 * `admin.port`: the admin API on a listener of its own, so it need not be exposed with the data
 * plane. Then it is served there only; the data-plane port answers 404 for /admin/v1/*.
 */
let gateway: Gateway;
let dataUrl: string;
let adminUrl: string;

beforeAll(async () => {
  const config = harnessConfig(
    {
      deployments: { d: { provider: 'openai', baseUrl: 'http://127.0.0.1:9/v1' } },
      models: { m: { targets: [{ deployment: 'd', model: 'm' }] } },
      admin: { port: 0, bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
      state: { database: { dataDir: ':memory:' } },
    },
    { GATEWAY_ADMIN_KEY: ADMIN_KEY },
  );
  gateway = createGateway(config, { logger: pino({ level: 'silent' }) });
  const address = await gateway.listen({ host: '127.0.0.1', port: 0 });
  dataUrl = address.url;
  adminUrl = address.adminUrl as string;
}, 60_000);
afterAll(() => gateway?.close());

it('serves the admin API on its own port only', async () => {
  expect(adminUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
  expect(adminUrl).not.toBe(dataUrl);
  expect((await admin(adminUrl, 'POST', '/teams', { name: 'own-port' })).status).toBe(201);
  const onData = await admin(dataUrl, 'GET', '/teams');
  expect(onData.status).toBe(404);
  expect(onData.body.error.code).toBe('not_found');
  // The admin listener serves nothing but the admin API.
  expect((await fetch(`${adminUrl}/v1/models`)).status).toBe(404);
});

it('refuses an admin port that another listener uses', () => {
  const config = (admin: Record<string, unknown>, server: Record<string, unknown> = {}) =>
    harnessConfig({ server, deployments: { d: { provider: 'openai', baseUrl: 'http://127.0.0.1:9/v1' } }, models: { m: { targets: [{ deployment: 'd', model: 'm' }] } }, admin });
  expect(() => config({ port: 18_080 }, { port: 18_080 })).toThrow(/admin\.port: must differ from server\.port/);
  expect(() => config({ port: 18_090 }, { port: 18_080, metrics: { port: 18_090 } })).toThrow(/admin\.port: must differ from server\.metrics\.port/);
  expect(() => config({ port: 18_091 }, { port: 18_080, metrics: { port: 18_090 } })).not.toThrow();
});

it('serves the web console on the admin listener only (the page goes where the API it calls is)', async () => {
  expect((await fetch(`${adminUrl}/ui/`)).status).toBe(200);
  expect((await fetch(`${dataUrl}/ui/`)).status).toBe(404);
});
