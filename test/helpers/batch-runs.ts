/**
 * Batches made straight in the database, for runner tests (the files/batches HTTP API is tested
 * on its own): a batch in progress with one queued item per body, as validation leaves it.
 */
import { createHash } from 'node:crypto';
import { asc, eq } from 'drizzle-orm';
import { batches, batchItems, type BatchStatus } from '../../src/control/store/schema.js';
import type { ControlDb } from '../../src/control/store/store.js';
import { newBatchId } from '../../src/batches/ids.js';
import { systemClock } from '../../src/clock.js';
import { resolveConfig } from '../../src/config/load.js';
import { openStore } from '../../src/control/store/open-store.js';
import type { ControlStore } from '../../src/control/store/store.js';
import { RuntimeHolder } from '../../src/lifecycle/runtime-holder.js';
import { fanOut, type GatewayEvents } from '../../src/observability/events.js';
import { MemoryConcurrencyLimiter } from '../../src/ratelimit/concurrency.js';
import { MemoryRateLimiter } from '../../src/ratelimit/memory-limiter.js';
import { MemoryCooldowns } from '../../src/routing/cooldowns.js';
import { MemoryBudgetLedger } from '../../src/spend/memory-budget-ledger.js';
import { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';
import { UpstreamPools } from '../../src/upstream/pools.js';
import { createTestDatabase } from './postgres.js';
import { pino } from 'pino';
import { afterAll, beforeAll } from 'vitest';
import { EmbeddedBatchEngine, type EngineDeps } from '../../src/batches/runner/embedded-engine.js';

/** The key id a config key runs under (`cfg_` and 12 hex digits of its SHA-256). */
export function configKeyId(key: string): string {
  return `cfg_${createHash('sha256').update(key, 'latin1').digest('hex').slice(0, 12)}`;
}

export interface BatchSpec {
  readonly team: string;
  readonly keyId: string;
  readonly bodies: readonly unknown[];
  readonly endpoint?: string;
  readonly status?: BatchStatus;
  /** Default one day from now. */
  readonly expiresAt?: Date;
  readonly customId?: (line: number) => string;
}

export async function insertBatch(db: ControlDb, spec: BatchSpec): Promise<string> {
  const id = newBatchId();
  const now = new Date();
  const n = spec.bodies.length;
  const status = spec.status ?? 'in_progress';
  await db.insert(batches).values({
    id,
    team: spec.team,
    keyId: spec.keyId,
    endpoint: spec.endpoint ?? '/v1/chat/completions',
    inputFileId: 'file-test',
    completionWindow: '24h',
    status,
    total: status === 'validating' ? 0 : n,
    completed: 0,
    failed: 0,
    pending: status === 'validating' ? 0 : n,
    costPico: 0n,
    createdAt: now,
    inProgressAt: status === 'in_progress' ? now : null,
    expiresAt: spec.expiresAt ?? new Date(now.getTime() + 86_400_000),
  });
  if (status !== 'validating') await insertItems(db, id, spec.bodies, spec.customId);
  return id;
}

/** What a validator does: the items, then the batch in progress (tests' stand-in for validateBatch). */
export async function insertItems(db: ControlDb, batchId: string, bodies: readonly unknown[], customId: (line: number) => string = (l) => `req-${l}`): Promise<void> {
  for (let from = 0; from < bodies.length; from += 500) {
    const rows = bodies.slice(from, from + 500).map((body, i) => ({ batchId, line: from + i, customId: customId(from + i), body, state: 'queued' as const, attempts: 0 }));
    await db.insert(batchItems).values(rows).onConflictDoNothing();
  }
}

export async function batchRow(db: ControlDb, id: string): Promise<typeof batches.$inferSelect> {
  const [b] = await db.select().from(batches).where(eq(batches.id, id));
  if (!b) throw new Error(`no batch ${id}`);
  return b;
}

export async function itemRows(db: ControlDb, id: string): Promise<Array<typeof batchItems.$inferSelect>> {
  return db.select().from(batchItems).where(eq(batchItems.batchId, id)).orderBy(asc(batchItems.line));
}

/** Polls until the batch reaches one of `statuses` (or throws after `timeoutMs`, naming where it stood). */
export async function waitForBatch(db: ControlDb, id: string, statuses: readonly BatchStatus[], timeoutMs = 15_000): Promise<typeof batches.$inferSelect> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const b = await batchRow(db, id);
    if (statuses.includes(b.status)) return b;
    if (Date.now() > until) throw new Error(`batch ${id} still ${b.status} (completed ${b.completed}, failed ${b.failed}, pending ${b.pending}) after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** Polls until `check` holds. */
export async function waitUntil(check: () => Promise<boolean> | boolean, timeoutMs: number, what: string): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** A config key for runner tests: team `main`, model `m` (priced) allowed, `secret` not. */
export const RUNNER_KEY = 'sk-batch-runner-test-0001';
/** A key of the team `limited`, whose request bucket holds one request and refills five a second. */
export const LIMITED_KEY = 'sk-runner-limited-0123456789';

export interface RunnerWorld {
  readonly store: ControlStore;
  readonly fake: FakeUpstream;
  readonly holder: RuntimeHolder;
  /** Every request the pipeline finished, as its event told. */
  readonly finished: Array<{ requestId: string; costPico: number | null | undefined; keyId: string | undefined }>;
  close(): Promise<void>;
}

/**
 * What an engine needs without a whole gateway: a control-plane store (PGlite, or a fresh
 * PostgreSQL database when `server`), a fake upstream, and the runtime a gateway would build
 * (one upstream try per run: the batch's own retries are what runner tests look at).
 */
export async function startRunnerWorld(server: boolean): Promise<RunnerWorld> {
  const db = server ? await createTestDatabase('batchrunner') : undefined;
  const { store } = await openStore({ dataDir: ':memory:', poolSize: 8, connectTimeoutMs: 2_000, statementTimeoutMs: 5_000, url: db?.url }, () => undefined);
  const fake = await FakeUpstream.start({ dialect: 'openai' });
  const config = resolveConfig({
    server: { host: '127.0.0.1', port: 0 },
    logging: { level: 'silent' },
    retry: { maxAttempts: 1 },
    timeouts: { connectMs: 1_000, firstByteMs: 3_000, idleMs: 3_000, totalMs: 8_000 },
    circuitBreaker: { failureThreshold: 1_000, openMs: 30_000 },
    deployments: { d: { provider: 'openai', baseUrl: fake.baseUrl } },
    models: {
      m: { targets: [{ deployment: 'd', model: 'm', price: { input: '1', output: '2' } }] },
      secret: { targets: [{ deployment: 'd', model: 'm' }] },
    },
    tenants: { main: { keys: [RUNNER_KEY], models: ['m'] }, limited: { keys: [LIMITED_KEY], models: ['m'], limits: { requests: { capacity: 1, refillPerSecond: 5 } } } },
  });
  const clock = systemClock;
  const pools = new UpstreamPools();
  const finished: RunnerWorld['finished'] = [];
  const events = fanOut([{ requestFinished: (e) => finished.push({ requestId: e.requestId, costPico: e.costPico, keyId: e.keyId }) } satisfies Partial<GatewayEvents>], () => undefined);
  const holder = new RuntimeHolder(config, { clock, events, pools, rateLimiter: new MemoryRateLimiter(clock), concurrency: new MemoryConcurrencyLimiter(), cooldowns: new MemoryCooldowns(clock), budgetLedger: new MemoryBudgetLedger(clock) });
  return {
    store,
    fake,
    holder,
    finished,
    async close() {
      await fake.close();
      await pools.close(1_000);
      await store.close();
      await db?.drop();
    },
  };
}

/** A dead letter of `team` (a one-item batch that ended with its item failed), for admin API tests. */
export async function insertDeadLetter(db: ControlDb, team: string, keyId = 'key_test_none', expiresAt?: Date): Promise<{ batchId: string; line: number }> {
  const id = await insertBatch(db, { team, keyId, bodies: [], status: 'completed', ...(expiresAt ? { expiresAt } : {}) });
  const now = new Date();
  await db.insert(batchItems).values({ batchId: id, line: 0, customId: 'dead-0', body: { model: 'm' }, state: 'failed', attempts: 3, statusCode: 502, requestId: null, response: { error: { code: 'upstream_error' } }, finishedAt: now, deadLetteredAt: now });
  await db.update(batches).set({ total: 1, failed: 1, completedAt: now }).where(eq(batches.id, id));
  return { batchId: id, line: 0 };
}

/** Runner settings for tests: one item at a time, short backoff and lease. */
export const testRunnerSettings = { maxFileBytes: 1 << 20, maxLines: 1_000, concurrency: 1, concurrencyWhileBusy: 1, maxAttempts: 3, retryBackoffMs: 10, leaseMs: 1_000, fileRetentionDays: 30 };

/** An embedded engine on the world's database and runtime (validation a no-op unless given), not started. */
export function testEngine(world: RunnerWorld, over: Partial<EngineDeps> & { readonly owner: string }): EmbeddedBatchEngine {
  return new EmbeddedBatchEngine({
    db: () => world.store.db,
    ready: () => true,
    validate: async () => undefined,
    settings: testRunnerSettings,
    clock: systemClock,
    acquire: () => world.holder.acquire(),
    random: () => 0.5,
    logger: pino({ level: 'silent' }),
    graceMs: 500,
    pollMs: 20,
    ...over,
  });
}

/**
 * A world started before the calling file's tests and closed after them. The object it returns
 * reads the world when used, so it can be passed around before the world exists.
 */
export function useRunnerWorld(server = false): RunnerWorld {
  let world: RunnerWorld | undefined;
  beforeAll(async () => {
    world = await startRunnerWorld(server);
  }, 60_000);
  afterAll(async () => {
    await world?.close();
  });
  const started = (): RunnerWorld => {
    if (!world) throw new Error('the runner world is not started (used outside a test?)');
    return world;
  };
  return {
    get store() {
      return started().store;
    },
    get fake() {
      return started().fake;
    },
    get holder() {
      return started().holder;
    },
    get finished() {
      return started().finished;
    },
    close: async () => world?.close(),
  };
}

