/**
 * Attack: a provider's 429 storm with `Retry-After: 3600`. A batch item refused with a
 * Retry-After was put back after retryBackoffMs (milliseconds to seconds), ran again at once into
 * the same refusal (the deployment still cooling down), and was dead-lettered within seconds
 * after batches.maxAttempts runs: a whole batch thrown away because the provider asked for an
 * hour. A retried item waits at least what the answer's Retry-After said (its batch's window
 * still bounds it: the sweep expires what cannot run in time).
 */
import { describe, expect, it } from 'vitest';
import { configKeyId, insertBatch, itemRows, RUNNER_KEY, useRunnerWorld, testEngine, waitUntil } from '../helpers/batch-runs.js';

describe('a batch item answered 429 with Retry-After: 3600', () => {
  const world = useRunnerWorld();

  it('waits out the Retry-After instead of burning its runs and being dead-lettered', async () => {
    const db = world.store.db;
    world.fake.enqueue(...Array.from({ length: 5 }, () => ({ kind: 'status' as const, status: 429, headers: { 'retry-after': '3600' } })));
    const id = await insertBatch(db, { team: 'main', keyId: configKeyId(RUNNER_KEY), bodies: [{ model: 'm', messages: [{ role: 'user', content: 'x' }] }] });
    const engine = testEngine(world, {
      owner: 'retry-after-test',
      graceMs: 1_000,
    });
    try {
      const started = Date.now();
      engine.start();
      await waitUntil(async () => (await itemRows(db, id))[0]!.attempts >= 1 && (await itemRows(db, id))[0]!.state !== 'running', 5_000, 'the first run to end');
      // Rounds enough for every run left to happen if the backoff ignored the Retry-After.
      await new Promise((r) => setTimeout(r, 1_000));
      const [item] = await itemRows(db, id);
      expect(item!.state).toBe('queued');
      expect(item!.attempts).toBe(1);
      // Not before the gateway's own Retry-After (the deployment's cooldown, minutes here), far past
      // what retryBackoffMs alone gives (tens of milliseconds).
      expect(item!.notBefore!.getTime()).toBeGreaterThan(started + 60_000);
    } finally {
      await engine.close();
    }
  }, 20_000);
});
