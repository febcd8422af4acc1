/**
 * Attack: a batch larger than its key's own limits. The runner runs batches.concurrency items at
 * once; a key allowed one request in flight had the others refused (429
 * concurrency_limit_exceeded) before any upstream call, each refusal counted as a run, and after
 * batches.maxAttempts of them the item was dead-lettered: a batch on a busy or limited key was
 * thrown away instead of waiting for the capacity it is meant to use. A refusal by the key's own
 * limits is not a run: the item waits (Retry-After) and runs once there is room, its completion
 * window bounding the wait.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configKeyId, insertBatch, itemRows, waitForBatch } from '../helpers/batch-runs.js';
import { deploymentFor, KEY, startHarness, type Harness } from '../helpers/harness.js';

describe("a batch beyond its key's concurrency limit", () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { latencyMs: 100 } }],
      config: (f) => ({
        retry: { maxAttempts: 1 },
        deployments: { d: deploymentFor(f[0]!) },
        models: { m: { targets: [{ deployment: 'd', model: 'up' }] } },
        tenants: { main: { keys: [KEY], models: ['m'], concurrency: { maxInFlight: 1 } } },
        state: { database: { dataDir: ':memory:' } },
        batches: { concurrency: 4, maxAttempts: 2, retryBackoffMs: 10, leaseMs: 2_000 },
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it('runs every item, one at a time, none dead-lettered for the limit', async () => {
    const db = h.gateway.controlDb!;
    const bodies = Array.from({ length: 6 }, (_, i) => ({ model: 'm', max_tokens: 2, messages: [{ role: 'user', content: `n${i}` }] }));
    const id = await insertBatch(db, { team: 'main', keyId: configKeyId(KEY), bodies });
    const b = await waitForBatch(db, id, ['completed'], 30_000);
    const items = await itemRows(db, id);
    expect(items.map((i) => [i.state, i.statusCode])).toEqual(bodies.map(() => ['succeeded', 200]));
    expect(b).toMatchObject({ completed: 6, failed: 0 });
  }, 40_000);
});
