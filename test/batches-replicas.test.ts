/**
 * The Batch API's durability proof (issue 15): a 1,000-item batch over three `llm-gateway serve`
 * processes on one Redis (BullMQ) and one PostgreSQL, one replica SIGKILLed midway, the upstream
 * failing 20 % of the time, and 50 items that can never succeed (a model the batch's key may not
 * use). The batch is made in the database as validation leaves it (the HTTP API is tested on its
 * own); the replicas' sweepers find its items.
 *
 * Proves: the batch completes; every custom id ends exactly once (the output lines and the error
 * lines together are the input, no id twice, the batch's counts add up); the dead-letter list is
 * exactly the items that could not succeed; each result is one request of its own; and the spend
 * of the batch's key in the request log equals the sum of the items' costs, which is the batch's
 * cost.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStore } from '../src/control/store/open-store.js';
import type { ControlStore } from '../src/control/store/store.js';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { batchRow, configKeyId, insertBatch, itemRows, waitForBatch, waitUntil } from './helpers/batch-runs.js';
import { startGatewayProcess, type GatewayProcess } from './helpers/gateway-process.js';
import { createTestDatabase, sharedPostgresAvailable } from './helpers/postgres.js';
import { adminClient, SHARED_REDIS_URL, sharedRedisAvailable, uniquePrefix } from './helpers/redis.js';

const available = (await sharedRedisAvailable()) && (await sharedPostgresAvailable());

const TOTAL = 1_000;
const KEY = 'sk-batch-proof-0123456789';
const keyId = configKeyId(KEY);
/** Every 20th line asks for a model the key may not use: 403, never retried. */
const impossible = (line: number): boolean => line % 20 === 7;

describe.skipIf(!available)('a 1,000-item batch across 3 gateway processes, one SIGKILLed midway', () => {
  let fake: FakeUpstream;
  let dir: string;
  let prefix: string;
  let database: { url: string; drop(): Promise<void> } | undefined;
  let store: ControlStore | undefined;
  const replicas: GatewayProcess[] = [];

  beforeAll(async () => {
    // 20 % of upstream calls fail with a 500 (seeded); a little latency keeps items in flight.
    fake = await FakeUpstream.start({ dialect: 'openai', behaviour: { failureRate: 0.2, seed: 15, latencyMs: 15, reply: 'ok done' } });
    dir = mkdtempSync(join(tmpdir(), 'llm-gateway-batch-'));
    prefix = uniquePrefix('batch-proof');
    database = await createTestDatabase('batch_proof');
    const config = join(dir, 'gateway.yaml');
    writeFileSync(
      config,
      JSON.stringify({
        logging: { level: 'warn', format: 'json' },
        server: { shutdownGraceMs: 2_000 },
        state: { backend: 'redis', redis: { url: '${env:REDIS_URL}', keyPrefix: prefix }, expectedReplicas: 3, database: { url: '${env:DATABASE_URL}' } },
        requestLog: { flushMs: 200, spoolDir: join(dir, 'spool') },
        // Two upstream tries per run (a run fails 4 % of the time), five runs per item: an item
        // that can succeed fails all five with odds of 1 in 10^7.
        retry: { maxAttempts: 2, baseDelayMs: 5, maxDelayMs: 20 },
        circuitBreaker: { failureThreshold: 1_000_000 },
        batches: { concurrency: 8, maxAttempts: 5, retryBackoffMs: 50, leaseMs: 2_000 },
        deployments: { fake: { provider: 'openai', baseUrl: fake.baseUrl, maxConnections: 64 } },
        models: {
          m: { targets: [{ deployment: 'fake', model: 'up', price: { input: 200, output: 300 } }] },
          secret: { targets: [{ deployment: 'fake', model: 'up' }] },
        },
        tenants: { proof: { keys: [KEY], models: ['m'] } },
      }),
    );
    const env = { REDIS_URL: SHARED_REDIS_URL, DATABASE_URL: database.url };
    replicas.push(...(await Promise.all([startGatewayProcess(config, env), startGatewayProcess(config, env), startGatewayProcess(config, env)])));
    ({ store } = await openStore({ dataDir: ':memory:', poolSize: 4, connectTimeoutMs: 2_000, statementTimeoutMs: 10_000, url: database.url }, () => undefined));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(replicas.map((r) => r.stop()));
    await fake?.close();
    await store?.close();
    await database?.drop();
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (!prefix) return;
    const redis = adminClient();
    try {
      const keys = await redis.keys(`{${prefix}batches}*`);
      if (keys.length > 0) await redis.del(...keys);
    } finally {
      redis.disconnect();
    }
  });

  it('completes; every custom id exactly once; dead letters are exactly the impossible items; spend equals the items\' costs', async () => {
    const db = store!.db;
    const bodies = Array.from({ length: TOTAL }, (_, line) => ({ model: impossible(line) ? 'secret' : 'm', max_tokens: 2, messages: [{ role: 'user', content: `item ${line}` }] }));
    const id = await insertBatch(db, { team: 'proof', keyId, bodies, customId: (line) => `cid-${line}` });

    // Midway: a third of the items have ended, and the first replica dies without a word.
    await waitUntil(async () => {
      const b = await batchRow(db, id);
      return b.completed + b.failed >= TOTAL / 3;
    }, 60_000, 'a third of the batch');
    await replicas[0]!.stop();
    const atKill = await batchRow(db, id);
    expect(atKill.completed + atKill.failed).toBeLessThan(TOTAL);

    const b = await waitForBatch(db, id, ['completed'], 60_000);
    const items = await itemRows(db, id);
    // The output file's lines (succeeded) and the error file's (failed) are the input, each once.
    expect(items).toHaveLength(TOTAL);
    const output = items.filter((i) => i.state === 'succeeded').map((i) => i.customId);
    const errors = items.filter((i) => i.state === 'failed').map((i) => i.customId);
    const all = [...output, ...errors];
    expect(all).toHaveLength(TOTAL);
    expect(new Set(all).size).toBe(TOTAL);
    expect(b).toMatchObject({ total: TOTAL, completed: output.length, failed: errors.length, pending: 0 });
    // Each result is one request of its own.
    expect(new Set(items.map((i) => i.requestId)).size).toBe(TOTAL);

    // Dead letters: exactly the items that could not succeed, each refused as the key's model rule says.
    const dead = items.filter((i) => i.deadLetteredAt !== null);
    expect(dead.map((i) => i.line)).toEqual(items.filter((i) => impossible(i.line)).map((i) => i.line));
    // (An impossible item the dead replica held ran twice: its lost run counts as an attempt.)
    expect(dead.filter((i) => i.statusCode !== 403)).toEqual([]);
    expect(output).toHaveLength(TOTAL - dead.length);
    // The failing upstream made items run more than once.
    expect(items.some((i) => i.attempts > 1)).toBe(true);

    // The batch's cost is its items', and the key's spend in the request log is the same, once the
    // surviving replicas have flushed (the dead one's unflushed rows belong to runs whose items were
    // never settled by it: their cost is in neither).
    const itemsCost = items.reduce((s, i) => s + (i.costPico ?? 0n), 0n);
    expect(itemsCost).toBeGreaterThan(0n);
    expect(b.costPico).toBe(itemsCost);
    const client = new pg.Client({ connectionString: database?.url });
    await client.connect();
    try {
      let spend: string | null = null;
      for (let i = 0; i < 100 && spend !== itemsCost.toString(); i++) {
        if (i > 0) await new Promise((r) => setTimeout(r, 100));
        spend = (await client.query('SELECT sum(cost_pico)::text AS cost FROM request_log WHERE key_id = $1', [keyId])).rows[0]?.cost ?? null;
      }
      expect(spend).toBe(itemsCost.toString());
    } finally {
      await client.end();
    }
  }, 120_000);
});
