/**
 * Issue 11: the control plane's database stopped under traffic. A PostgreSQL server of this
 * test's own (stopped and started by pid), two gateways on it, steady traffic. While it is down
 * the data plane keeps serving with the keys it had (revocations included), /ready stays true,
 * and the admin API answers 503 control_plane_unavailable at once; when it returns, the admin
 * API works again and changes reach the other gateway by notification (the resync is set to
 * 10 minutes, so only LISTEN/NOTIFY can bring them). A gateway started while the database is
 * down serves config keys, says not ready, and loads the snapshot once it can. A network that
 * goes silent (a proxy that drops every byte) bounds the admin API by its query deadline.
 */
import { Writable } from 'node:stream';
import { sql } from 'drizzle-orm';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresStore } from '../src/control/store/postgres-store.js';
import { ADMIN_KEY, admin, type AdminResult } from './helpers/admin.js';
import { chat, chatBody, deploymentFor, get, KEY, startHarness, type Harness } from './helpers/harness.js';
import { ownPostgresAvailable, startOwnPostgres, type OwnPostgres } from './helpers/own-postgres.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const available = ownPostgresAvailable();

const CONNECT_TIMEOUT_MS = 1_000;
const STATEMENT_TIMEOUT_MS = 2_000;
const PROPAGATION_BOUND_MS = 1_000;
const measured: Record<string, number | Record<string, number>> = {};

describe.skipIf(!available)('control plane: the database stopped under traffic', () => {
  let server: OwnPostgres;
  const harnesses: Harness[] = [];
  const proxies: TcpProxy[] = [];
  const logLines: string[] = [];

  /** Every gateway's log (warn and up), to show what happened and that no secret reached it. */
  const logger = pino(
    { level: 'warn' },
    new Writable({
      write(chunk: Buffer, _enc, done) {
        if (logLines.length < 5_000) logLines.push(chunk.toString());
        done();
      },
    }),
  );

  async function gateway(url: string): Promise<Harness> {
    const h = await startHarness({
      fakes: [{ dialect: 'openai' }],
      env: { GATEWAY_ADMIN_KEY: ADMIN_KEY, OUTAGE_DATABASE_URL: url },
      logger,
      config: (f) => ({
        deployments: { d: deploymentFor(f[0]!) },
        models: { 'gpt-mini': { targets: [{ deployment: 'd', model: 'm' }] } },
        admin: { bootstrapKey: '${env:GATEWAY_ADMIN_KEY}' },
        state: {
          database: { url: '${env:OUTAGE_DATABASE_URL}', connectTimeoutMs: CONNECT_TIMEOUT_MS, statementTimeoutMs: STATEMENT_TIMEOUT_MS, resyncMs: 600_000 },
        },
      }),
    });
    harnesses.push(h);
    return h;
  }

  beforeAll(async () => {
    server = await startOwnPostgres();
  }, 60_000);
  afterAll(async () => {
    try {
      // Bounded: a gateway that cannot close must not keep the server of ours running.
      const closing = Promise.all(harnesses.map((h) => h.close().catch(() => undefined)));
      const closed = await Promise.race([closing.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 15_000).unref())]);
      expect(closed, 'every gateway closes').toBe(true);
      for (const p of proxies) await p.close();
    } finally {
      await server?.destroy();
      console.log(`[control-plane outage] measured: ${JSON.stringify(measured)}`);
    }
  }, 30_000);

  const status = async (url: string, key: string): Promise<number> => (await chat(url, chatBody('gpt-mini'), { key })).status;

  /** Polls (every ~20 ms) until `url` answers `want` for `key`; the ms it took, or throws after `limitMs`. */
  async function until(url: string, key: string, want: number, limitMs: number): Promise<number> {
    const since = performance.now();
    for (;;) {
      const got = (await get(url, '/v1/models', key)).status;
      const ms = performance.now() - since;
      if (got === want) return ms;
      if (ms > limitMs) throw new Error(`${url} still answers ${got} for the key (want ${want}) after ${Math.round(ms)} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  /** Steady traffic: `workers` loops of chat requests per gateway with `key`, counting statuses. */
  function traffic(urls: readonly string[], key: string): { stop(): Promise<Record<string, number>> } {
    const counts: Record<string, number> = {};
    let running = true;
    const loops = urls.map(async (url) => {
      while (running) {
        let s: string;
        try {
          s = String(await status(url, key));
        } catch (err) {
          s = `error:${(err as Error).message}`;
        }
        counts[s] = (counts[s] ?? 0) + 1;
        await new Promise((r) => setTimeout(r, 10));
      }
    });
    return {
      async stop() {
        running = false;
        await Promise.all(loops);
        return counts;
      },
    };
  }

  /**
   * Soft: a failure is reported and the test goes on, so one run shows everything else too.
   * (Reads through drizzle fail with a DrizzleQueryError whose `cause` is the connection error;
   * the admin API must look at the cause to answer 503 rather than 500.)
   */
  function expectUnavailable(res: AdminResult, what: string): void {
    expect.soft(res.status, `${what}: ${res.text}`).toBe(503);
    expect.soft(res.body?.error, what).toMatchObject({ code: 'control_plane_unavailable', type: 'server_error' });
    expect.soft(Number(res.headers['retry-after']), what).toBeGreaterThan(0);
  }

  it('a transaction in progress when the server stops fails, and no connection error is left unhandled (the process would crash)', async () => {
    const uncaught: unknown[] = [];
    const onUncaught = (err: unknown): void => void uncaught.push(err);
    process.prependListener('uncaughtException', onUncaught);
    const store = openPostgresStore({ url: server.url, poolSize: 2, connectTimeoutMs: CONNECT_TIMEOUT_MS, statementTimeoutMs: STATEMENT_TIMEOUT_MS, onError: () => undefined });
    try {
      let resume!: () => void;
      const paused = new Promise<void>((r) => (resume = r));
      const entered: Array<Promise<void>> = [];
      const pausedInside = (): (() => void) => {
        let inside!: () => void;
        entered.push(new Promise<void>((r) => (inside = r)));
        return inside;
      };
      // Both kinds of transaction: drizzle's (admin changes, snapshot loads) and the store's own (migrations).
      const insideDrizzle = pausedInside();
      const viaDrizzle = store.db.transaction(async (tx) => {
        await tx.execute(sql`SELECT 1`);
        insideDrizzle();
        await paused;
        await tx.execute(sql`SELECT 1`);
      });
      const insideStore = pausedInside();
      const viaStore = store.transaction(async (tx) => {
        await tx.rows('SELECT 1');
        insideStore();
        await paused;
        await tx.rows('SELECT 1');
      });
      await Promise.all(entered);
      // Both connections sit idle in their transactions, checked out of the pool, when the server goes.
      await server.stop();
      resume();
      await expect(viaDrizzle).rejects.toThrow();
      await expect(viaStore).rejects.toThrow();
      expect(uncaught).toEqual([]);
    } finally {
      process.removeListener('uncaughtException', onUncaught);
      await store.close();
      if (!server.running) await server.start();
    }
  });

  it('keeps serving with the last keys while the database is down, answers 503 on the admin API, and recovers without a restart', async () => {
    const [a, b] = [await gateway(server.url), await gateway(server.url)] as [Harness, Harness];
    expect((await admin(a.url, 'POST', '/teams', { name: 'outage', models: ['gpt-mini'] })).status).toBe(201);
    const live = await admin(a.url, 'POST', '/keys', { team: 'outage', name: 'live' });
    const revoked = await admin(a.url, 'POST', '/keys', { team: 'outage', name: 'revoked' });
    expect((await admin(a.url, 'DELETE', `/keys/${revoked.body.id}`)).status).toBe(200);
    for (const h of [a, b]) {
      await until(h.url, live.body.key, 200, 5_000);
      await until(h.url, revoked.body.key, 401, 5_000);
    }

    const valid = traffic([a.url, b.url], live.body.key);
    const refused = traffic([a.url, b.url], revoked.body.key);
    const config = traffic([a.url, b.url], KEY);

    const downAt = performance.now();
    await server.stop();
    // The admin API answers at once, in the API's error shape, with Retry-After.
    const adminTimes: number[] = [];
    for (const h of [a, b]) {
      const calls: Array<[string, () => Promise<AdminResult>]> = [
        ['POST /keys', () => admin(h.url, 'POST', '/keys', { team: 'outage' })],
        ['GET /teams', () => admin(h.url, 'GET', '/teams')],
        ['GET /keys/{id}', () => admin(h.url, 'GET', `/keys/${live.body.id}`)],
        ['DELETE /keys/{id}', () => admin(h.url, 'DELETE', `/keys/${live.body.id}`)],
      ];
      for (const [what, call] of calls) {
        const started = performance.now();
        const res = await call();
        adminTimes.push(performance.now() - started);
        expectUnavailable(res, what);
      }
    }
    measured.adminWhileDownMaxMs = Math.round(Math.max(...adminTimes));
    expect(Math.max(...adminTimes)).toBeLessThan(CONNECT_TIMEOUT_MS);
    // Still ready: they have a snapshot.
    for (const h of [a, b]) expect((await get(h.url, '/ready', null)).status).toBe(200);
    // Traffic keeps flowing for a while with the database down.
    await new Promise((r) => setTimeout(r, 2_000));
    for (const h of [a, b]) expect((await get(h.url, '/ready', null)).status).toBe(200);

    await server.start();
    const upAt = performance.now();
    measured.downForMs = Math.round(upAt - downAt);
    // The admin API works again (the pool makes new connections).
    const recoverySince = performance.now();
    let teams: AdminResult;
    for (;;) {
      teams = await admin(a.url, 'GET', '/teams');
      if (teams.status === 200 || performance.now() - recoverySince > 10_000) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    expect(teams.status, teams.text).toBe(200);
    measured.adminRecoveredMs = Math.round(performance.now() - recoverySince);

    // A key made after the recovery reaches the other gateway without a restart: by the
    // listener's reload when it reconnects, or by its notification if it already has.
    const afterRecovery = await admin(a.url, 'POST', '/keys', { team: 'outage', name: 'after-recovery' });
    expect(afterRecovery.status, afterRecovery.text).toBe(201);
    measured.firstKeyAfterRecoveryOnBMs = Math.round(await until(b.url, afterRecovery.body.key, 200, 10_000));
    // Now B listens again: the next change comes by notification, within the usual bound.
    const notified = await admin(a.url, 'POST', '/keys', { team: 'outage', name: 'notified' });
    expect(notified.status, notified.text).toBe(201);
    const viaNotify = await until(b.url, notified.body.key, 200, 5_000);
    measured.notifyAfterRecoveryMs = Math.round(viaNotify);
    expect(viaNotify).toBeLessThan(PROPAGATION_BOUND_MS);
    // And the other way round: revoked on B, refused on A.
    expect((await admin(b.url, 'DELETE', `/keys/${notified.body.id}`)).status).toBe(200);
    expect(await until(a.url, notified.body.key, 401, 5_000)).toBeLessThan(PROPAGATION_BOUND_MS);

    const [validCounts, refusedCounts, configCounts] = await Promise.all([valid.stop(), refused.stop(), config.stop()]);
    measured.validKeyStatuses = validCounts;
    measured.revokedKeyStatuses = refusedCounts;
    measured.configKeyStatuses = configCounts;
    // Zero 401s and zero 5xx for valid keys, from before the outage to after the recovery; the
    // revoked key refused every time.
    expect(Object.keys(validCounts)).toEqual(['200']);
    expect(Object.keys(configCounts)).toEqual(['200']);
    expect(Object.keys(refusedCounts)).toEqual(['401']);
    expect(validCounts['200']).toBeGreaterThan(50);
    // What the gateways said about it: warnings, no crash, and no connection string.
    expect(logLines.join('')).toMatch(/database/);
    expect(logLines.join('')).not.toContain(server.url);
  }, 60_000);

  it('a gateway started while the database is down serves config keys, is not ready, answers 503 on the admin API, and loads the snapshot once the database is back', async () => {
    // A key made while the server is up, to be found later.
    const seed = await gateway(server.url);
    expect((await admin(seed.url, 'POST', '/teams', { name: 'late' })).status).toBe(201);
    const key = await admin(seed.url, 'POST', '/keys', { team: 'late' });
    expect(key.status, key.text).toBe(201);

    await server.stop();
    const started = performance.now();
    const late = await gateway(server.url);
    measured.startWhileDownMs = Math.round(performance.now() - started);
    const ready = await get(late.url, '/ready', null);
    expect(ready.status).toBe(503);
    expect(await status(late.url, KEY)).toBe(200);
    expectUnavailable(await admin(late.url, 'GET', '/teams'), 'GET /teams before the first snapshot');
    // API keys are unknown until the first snapshot: refused, not let through.
    expect(await status(late.url, key.body.key)).toBe(401);

    await server.start();
    const upAt = performance.now();
    const readySince = performance.now();
    for (;;) {
      if ((await get(late.url, '/ready', null)).status === 200) break;
      // Retries back off from 1 s, doubling: started ~0 s, retried at 1 s, 3 s, 7 s…
      if (performance.now() - readySince > 15_000) throw new Error('the late gateway never became ready');
      await new Promise((r) => setTimeout(r, 20));
    }
    measured.lateReadyAfterDatabaseUpMs = Math.round(performance.now() - upAt);
    expect(await status(late.url, key.body.key)).toBe(200);
    expect((await admin(late.url, 'GET', '/teams')).status).toBe(200);
  }, 60_000);

  it('a network that goes silent: the admin API answers 503 within its query deadline, the data plane keeps serving, and it recovers', async () => {
    const proxy = await startTcpProxy(server.port);
    proxies.push(proxy);
    const url = new URL(server.url);
    url.port = String(proxy.port);
    const h = await gateway(url.toString());
    expect((await admin(h.url, 'POST', '/teams', { name: 'silent' })).status).toBe(201);
    const key = await admin(h.url, 'POST', '/keys', { team: 'silent' });
    expect(key.status, key.text).toBe(201);

    proxy.blackhole();
    const started = performance.now();
    const res = await admin(h.url, 'POST', '/keys', { team: 'silent' });
    const took = performance.now() - started;
    measured.adminSilentNetworkMs = Math.round(took);
    expectUnavailable(res, 'POST /keys on a silent network');
    // node-postgres's own deadline for a query that gets no answer: statementTimeoutMs + 1 s.
    expect(took).toBeLessThan(STATEMENT_TIMEOUT_MS + 1_000 + 1_000);
    expect(await status(h.url, key.body.key)).toBe(200);
    expect((await get(h.url, '/ready', null)).status).toBe(200);

    proxy.heal();
    const healedAt = performance.now();
    let ok: AdminResult | undefined;
    const statuses: number[] = [];
    while (performance.now() - healedAt < 20_000) {
      ok = await admin(h.url, 'GET', '/teams');
      statuses.push(ok.status);
      if (ok.status === 200) break;
      await new Promise((r) => setTimeout(r, 20));
    }
    measured.adminAfterHealMs = Math.round(performance.now() - healedAt);
    measured.adminCallsUntilHealed = statuses.length;
    expect(ok?.status).toBe(200);
  }, 60_000);
});
