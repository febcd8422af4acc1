/**
 * Attack: a gateway shutdown while the embedded runner's maintenance round is validating a batch
 * (a 50,000-line file takes about 10 s on the embedded database; a database that stopped
 * answering, until its statement timeout, each statement). close() awaited the loop without a
 * deadline, so the drain waited for the whole validation, whatever server.shutdownGraceMs said.
 * Every wait has a deadline: close() ends within the grace (plus the abort settle), and the loop
 * starts nothing after close() returned.
 */
import { describe, expect, it } from 'vitest';
import { configKeyId, insertBatch, itemRows, RUNNER_KEY, useRunnerWorld, testEngine, waitUntil } from '../helpers/batch-runs.js';

describe('embedded engine close during a long validation', () => {
  const world = useRunnerWorld();

  it('close() ends within its grace, and no item starts after it', async () => {
    const db = world.store.db;
    await insertBatch(db, { team: 'main', keyId: configKeyId(RUNNER_KEY), bodies: [], status: 'validating' });
    const runnable = await insertBatch(db, { team: 'main', keyId: configKeyId(RUNNER_KEY), bodies: [{ model: 'm', messages: [{ role: 'user', content: 'x' }] }] });
    let validating = false;
    let finishValidation: () => void = () => undefined;
    const engine = testEngine(world, {
      // The maintenance round's validation: long (the test ends it after close has had its chance).
      validate: () => {
        validating = true;
        return new Promise<void>((resolve) => (finishValidation = resolve));
      },
      owner: 'close-test',
      graceMs: 300,
      pollMs: 50,
    });
    engine.start();
    await waitUntil(() => validating, 5_000, 'the maintenance round to validate');
    const closed = engine.close().then(() => 'closed' as const);
    // The grace (300 ms) and the abort settle (5 s) bound it; a hung close would wait for the validation.
    const result = await Promise.race([closed, new Promise<'hung'>((r) => setTimeout(() => r('hung'), 8_000))]);
    finishValidation();
    await closed;
    expect(result).toBe('closed');
    // The round that was validating must not go on to claim items for an engine that closed.
    await new Promise((r) => setTimeout(r, 300));
    expect((await itemRows(db, runnable)).map((i) => i.state)).toEqual(['queued']);
  }, 20_000);
});
