/**
 * Attack: two runners on one database and a run that outlives its claim (a busy machine stalls a
 * replica past batches.leaseMs; another takes the item back and runs it too). Exactly one result
 * is kept, but the run whose result was not kept ("lost") was dropped with its cost: the key's
 * spend had both runs, the item and its batch only one, so the batch's cost no longer matched
 * what its key spent. A lost run's cost is added to its item (and its batch, once the item ended).
 */
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { batchRow, configKeyId, insertBatch, itemRows, RUNNER_KEY, useRunnerWorld } from '../helpers/batch-runs.js';
import { systemClock } from '../../src/clock.js';
import { claimRunnable, reclaimLapsed } from '../../src/batches/runner/claims.js';
import { runClaimed, type StepDeps } from '../../src/batches/runner/item-step.js';

describe('a run that outlived its claim', () => {
  const world = useRunnerWorld();

  it("keeps one result, and the item's cost is both runs' (the key's spend)", async () => {
    const db = world.store.db;
    const id = await insertBatch(db, { team: 'main', keyId: configKeyId(RUNNER_KEY), bodies: [{ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'priced' }] }] });
    // A claims with a lease that has already lapsed (its replica stalled); B takes the item back and claims it.
    const [a] = await claimRunnable(db, 'A', 1, new Date(), new Date(Date.now() - 1));
    expect(await reclaimLapsed(db, new Date())).toBe(1);
    const [b] = await claimRunnable(db, 'B', 1, new Date(), new Date(Date.now() + 60_000));
    const deps = (owner: string): StepDeps => ({
      db,
      owner,
      settings: { maxFileBytes: 1 << 20, maxLines: 1_000, concurrency: 1, concurrencyWhileBusy: 1, maxAttempts: 3, retryBackoffMs: 10, leaseMs: 60_000, fileRetentionDays: 30 },
      clock: systemClock,
      acquire: () => world.holder.acquire(),
      random: () => 0.5,
      logger: pino({ level: 'silent' }),
    });
    const before = world.finished.length;
    const first = await runClaimed(deps('A'), a!, new AbortController().signal);
    const second = await runClaimed(deps('B'), b!, new AbortController().signal);
    expect([first.outcome, second.outcome].sort()).toEqual(['lost', 'succeeded']);
    const runs = world.finished.slice(before);
    expect(runs).toHaveLength(2);
    const spent = runs.reduce((s, r) => s + BigInt(r.costPico ?? 0), 0n);
    expect(spent).toBeGreaterThan(0n);
    const [item] = await itemRows(db, id);
    expect(item!.state).toBe('succeeded');
    expect(item!.costPico).toBe(spent);
    expect((await batchRow(db, id)).costPico).toBe(spent);
  }, 20_000);
});
