/**
 * Attack: a hostile or broken upstream answers 200 with a `\u0000` (or an unpaired surrogate) in
 * its content. PostgreSQL's jsonb cannot store either, so writing the item's result failed, the
 * item stayed `running`, its lease lapsed, it was taken back and run again, paid for again, the
 * same answer refused again, every lease period until its batch's window ended (24 h: hundreds of
 * paid runs for one item, a batch that never completes). An answer is stored (the characters the
 * database cannot hold replaced with U+FFFD), and the item ends after one run.
 */
import { eq } from 'drizzle-orm';
import { batches } from '../../src/control/store/schema.js';
import { describe, expect, it } from 'vitest';
import { configKeyId, insertBatch, itemRows, RUNNER_KEY, useRunnerWorld, testEngine, waitUntil } from '../helpers/batch-runs.js';

describe('an upstream answer the database cannot store', () => {
  const world = useRunnerWorld();

  it.each([
    ['a NUL', 'a\u0000b'],
    ['an unpaired surrogate', 'a\ud800b'],
  ])('(%s) ends its item after one run', async (_label, content) => {
    const db = world.store.db;
    world.fake.reset();
    const answer = JSON.stringify({ id: 'chatcmpl-x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content }, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 } });
    world.fake.enqueue(...Array.from({ length: 6 }, () => ({ kind: 'replay' as const, body: answer, contentType: 'application/json' })));
    const id = await insertBatch(db, { team: 'main', keyId: configKeyId(RUNNER_KEY), bodies: [{ model: 'm', messages: [{ role: 'user', content: 'x' }] }] });
    const engine = testEngine(world, {
      owner: `unstorable-${_label}`,
    });
    try {
      engine.start();
      await waitUntil(async () => ['succeeded', 'failed'].includes((await itemRows(db, id))[0]!.state), 6_000, 'the item to end').catch(() => undefined);
      const [item] = await itemRows(db, id);
      expect(item!.state).toBe('succeeded');
      expect(world.fake.stats.requests).toBe(1);
      expect(JSON.stringify(item!.response)).toContain('a\ufffdb');
    } finally {
      await engine.close();
      // Nothing of this case is left for the next one's engine to run.
      await db.update(batches).set({ status: 'cancelled' }).where(eq(batches.id, id));
    }
  }, 20_000);
});
