/**
 * Issue 13, the console's server side over real sockets: the live event stream (history, then a
 * tick a second whose numbers follow the traffic; bounded to 16 streams; refused to a team role;
 * cut when the caller's role is taken away; ended by the drain) and the deployments view
 * (breaker and its transitions, recent failures, 429 cooldowns; never a credential).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeIdp } from '../src/testing/fake-idp.js';
import { ADMIN_KEY, admin, openStream, type OpenStream, type SseEvent } from './helpers/admin.js';
import { chat, chatBody, deploymentFor, startHarness, type Harness } from './helpers/harness.js';
import { identityConfig, signToken } from './helpers/identity.js';

const UPSTREAM_KEY = 'sk-upstream-secret-0123456789abcdef';

let h: Harness;
let idp: FakeIdp;
let token: (claims: Record<string, unknown>) => Promise<string>;

beforeAll(async () => {
  idp = await FakeIdp.start();
  const signer = await idp.addKey('ES256');
  token = (claims) => signToken(idp, signer, claims);
  h = await startHarness({
    fakes: [{ dialect: 'openai', apiKey: UPSTREAM_KEY }, { dialect: 'openai', behaviour: { failureRate: 1 } }, { dialect: 'openai' }],
    env: { GATEWAY_ADMIN_KEY: ADMIN_KEY, UPSTREAM_KEY },
    config: (f) => ({
      deployments: { d: deploymentFor(f[0]!, { apiKey: '${env:UPSTREAM_KEY}' }), bad: deploymentFor(f[1]!), lim: deploymentFor(f[2]!) },
      models: {
        'gpt-mini': { targets: [{ deployment: 'd', model: 'm' }] },
        broken: { targets: [{ deployment: 'bad', model: 'm' }] },
        limited: { targets: [{ deployment: 'lim', model: 'm' }] },
      },
      admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
      state: { database: { dataDir: ':memory:' } },
      requestLog: { flushMs: 100 },
      identity: identityConfig(idp),
    }),
  });
}, 60_000);

afterAll(async () => {
  await h?.close();
  await idp?.close();
});

const isTick = (e: SseEvent): boolean => e.event === 'tick';
const data = (e: SseEvent): any => JSON.parse(e.data ?? 'null');

describe('GET /admin/v1/live', () => {
  it('sends retry and the history first, then a tick a second whose numbers follow the traffic', async () => {
    const s = await openStream(h.url);
    try {
      expect(s.status).toBe(200);
      const first = await s.next(() => true);
      expect(first.retry).toBe('2000');
      const history = await s.next((e) => e.event !== undefined);
      expect(history.event).toBe('history');
      expect(data(history)).toMatchObject({ intervalMs: 1000, ticks: expect.any(Array) });
      expect(data(history).ticks.length).toBeLessThanOrEqual(300);
      const quiet = data(await s.next(isTick));
      expect(quiet).toMatchObject({ t: expect.any(Number), requests: expect.any(Number), tokens: { input: expect.any(Number), output: expect.any(Number) } });
      expect(quiet.t % 1000).toBe(0);
      for (let i = 0; i < 5; i++) expect((await chat(h.url, chatBody('gpt-mini'))).status).toBe(200);
      // A made-up model is counted under "unknown", never under the client's string.
      expect((await chat(h.url, chatBody('no-such-model-from-a-client'))).status).toBe(404);
      let requests = 0;
      const models: Record<string, number> = {};
      let deploymentAttempts = 0;
      let tokens = 0;
      let p95: number | null = null;
      const until = Date.now() + 10_000;
      while ((requests < 6 || deploymentAttempts < 5) && Date.now() < until) {
        const tick = data(await s.next(isTick));
        requests += tick.requests;
        for (const [m, v] of Object.entries(tick.models as Record<string, { requests: number }>)) models[m] = (models[m] ?? 0) + v.requests;
        deploymentAttempts += tick.deployments.d?.attempts ?? 0;
        tokens += tick.tokens.input + tick.tokens.output;
        p95 = tick.models['gpt-mini']?.latencyMs?.p95 ?? p95;
        expect(JSON.stringify(tick)).not.toContain('no-such-model-from-a-client');
      }
      expect(requests).toBe(6);
      expect(models).toEqual({ 'gpt-mini': 5, unknown: 1 });
      expect(deploymentAttempts).toBe(5);
      expect(tokens).toBeGreaterThan(0);
      expect(p95).toBeGreaterThan(0);
    } finally {
      s.close();
    }
  }, 30_000);

  it('a team role (an API key viewer of its team) is refused with 403; no credential is 401', async () => {
    expect((await admin(h.url, 'POST', '/teams', { name: 'alpha', models: ['gpt-mini'] })).status).toBe(201);
    const viewer = (await admin(h.url, 'POST', '/keys', { team: 'alpha', role: 'viewer' })).body.key as string;
    const refused = await openStream(h.url, '/live', viewer);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('permission_denied');
    expect((await openStream(h.url, '/live', null)).status).toBe(401);
  });

  it('refuses the 17th stream with a 429 in the admin error shape, and takes one again once a stream closes', async () => {
    const open: OpenStream[] = [];
    try {
      for (let i = 0; i < 16; i++) {
        const s = await openStream(h.url);
        open.push(s);
        expect(s.status).toBe(200);
      }
      const refused = await openStream(h.url);
      expect(refused.status).toBe(429);
      expect(refused.body).toEqual({ error: { message: expect.stringContaining('16 live streams'), type: expect.any(String), param: null, code: 'rate_limit_exceeded' } });
      open.pop()?.close();
      const until = Date.now() + 5_000;
      let again: OpenStream | undefined;
      while (Date.now() < until) {
        again = await openStream(h.url);
        if (again.status === 200) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      expect(again?.status).toBe(200);
      if (again) open.push(again);
    } finally {
      for (const s of open) s.close();
    }
  }, 30_000);

  it('cuts the stream of a person whose global role is taken away while it is open', async () => {
    const id = (await admin(h.url, 'POST', '/users', { subject: 'watcher', role: 'viewer' })).body.id as string;
    const s = await openStream(h.url, '/live', await token({ sub: 'watcher' }));
    expect(s.status).toBe(200);
    await s.next(isTick);
    expect((await admin(h.url, 'PATCH', `/users/${id}`, { role: null })).status).toBe(200);
    const cut = Date.now();
    await Promise.race([s.ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the stream was not cut within 5 s')), 5_000))]);
    expect(Date.now() - cut).toBeLessThan(5_000);
  }, 20_000);
});

describe('GET /admin/v1/deployments', () => {
  it('shows a failing deployment with its breaker open, its transitions and failures; a 429 as a cooldown; never a credential', async () => {
    for (let i = 0; i < 4; i++) await chat(h.url, chatBody('broken'));
    h.fakes[2]!.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '30' } }, { kind: 'status', status: 429, headers: { 'retry-after': '30' } }, { kind: 'status', status: 429, headers: { 'retry-after': '30' } });
    expect((await chat(h.url, chatBody('limited'))).status).toBe(429);
    expect((await chat(h.url, chatBody('gpt-mini'))).status).toBe(200);
    const res = await admin(h.url, 'GET', '/deployments');
    expect(res.status, res.text).toBe(200);
    const byName = Object.fromEntries((res.body.data as any[]).map((d) => [d.name, d]));
    expect(Object.keys(byName).sort()).toEqual(['bad', 'd', 'lim']);
    const bad = byName.bad;
    expect(bad).toMatchObject({ provider: 'openai', models: ['broken'], upstreamModel: 'm', state: 'breaker_open', breaker: { state: 'open' }, cooldownUntil: null });
    expect(bad.server).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(bad.breaker.transitions).toEqual([{ from: 'closed', to: 'open', at: expect.any(String), reason: expect.any(String) }]);
    expect(bad.recentFailures.length).toBeGreaterThanOrEqual(3);
    expect(bad.recentFailures[0]).toEqual({ at: expect.any(String), outcome: 'server_error', status: 500, requestId: expect.any(String) });
    expect(bad.latencyMs).toEqual({ p50: expect.any(Number), p95: expect.any(Number) });
    const lim = byName.lim;
    expect(lim).toMatchObject({ state: 'cooling_down', breaker: { state: 'closed', transitions: [] } });
    expect(Date.parse(lim.cooldownUntil) - Date.now()).toBeGreaterThan(20_000);
    expect(lim.recentFailures[0]).toMatchObject({ outcome: 'rate_limited', status: 429 });
    expect(byName.d).toMatchObject({ state: 'healthy', inFlight: 0, pool: { active: 0, idle: expect.any(Number), queued: 0, max: expect.any(Number) }, recentFailures: [] });
    for (const secret of [UPSTREAM_KEY, ADMIN_KEY, 'key=', 'Bearer', '/v1']) expect(res.text).not.toContain(secret);
  }, 30_000);

  it('is refused to a team role', async () => {
    expect((await admin(h.url, 'POST', '/teams', { name: 'beta', models: ['gpt-mini'] })).status).toBe(201);
    const member = (await admin(h.url, 'POST', '/keys', { team: 'beta', role: 'team_admin' })).body.key as string;
    expect((await admin(h.url, 'GET', '/deployments', undefined, member)).status).toBe(403);
  });
});

describe('drain', () => {
  it('ends every open live stream when the gateway drains', async () => {
    const s = await openStream(h.url);
    expect(s.status).toBe(200);
    await s.next(isTick);
    const closing = h.gateway.shutdown();
    await Promise.race([s.ended, new Promise((_, reject) => setTimeout(() => reject(new Error('the stream did not end on drain')), 5_000))]);
    await closing;
  }, 20_000);
});
