/**
 * Attack: a 50,000-line batch on the embedded runner. submit() validates it in the background
 * (about 10 s of event-loop slices on the embedded database), and every maintenance round
 * (each batches.leaseMs / 3) validates the batches it finds still `validating`: the same batch,
 * again, at the same time, doubling (or more) the database work that holds live requests. One
 * validation of a batch at a time in a process.
 */
import { describe, expect, it } from 'vitest';
import { configKeyId, insertBatch, RUNNER_KEY, useRunnerWorld, testEngine } from '../helpers/batch-runs.js';

describe('a batch validated while a validation of it is running', () => {
  const world = useRunnerWorld();

  it('is validated once at a time', async () => {
    const db = world.store.db;
    const id = await insertBatch(db, { team: 'main', keyId: configKeyId(RUNNER_KEY), bodies: [], status: 'validating' });
    let running = 0;
    let most = 0;
    let finish: () => void = () => undefined;
    const done = new Promise<void>((r) => (finish = r));
    const engine = testEngine(world, {
      // A long validation (a big file): it ends when the test says.
      validate: async () => {
        running++;
        most = Math.max(most, running);
        await done;
        running--;
      },
      owner: 'double-validation',
    });
    await engine.submit(id);
    engine.start();
    // Several maintenance rounds (every leaseMs / 3) while the first validation runs.
    await new Promise((r) => setTimeout(r, 1_200));
    finish();
    await engine.close();
    expect(most).toBe(1);
  }, 20_000);
});
