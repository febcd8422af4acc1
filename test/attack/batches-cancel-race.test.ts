/**
 * Attack: a client cancelling while the runner is finishing the batch (the cancel races the last
 * items' results). Whatever wins, the batch ends (cancelled, or completed when the cancel came
 * after its last item: a 409), its counts add up, and every custom_id is in the output or the
 * error file exactly once.
 */
import OpenAI, { ConflictError, toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deploymentFor, KEY, startHarness, type Harness } from '../helpers/harness.js';

describe('cancel racing the end of a running batch', () => {
  let h: Harness;
  beforeAll(async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { latencyMs: 5 } }],
      config: (f) => ({
        deployments: { d: deploymentFor(f[0]!) },
        models: { m: { targets: [{ deployment: 'd', model: 'up' }] } },
        tenants: { main: { keys: [KEY], models: ['m'] } },
        state: { database: { dataDir: ':memory:' } },
        batches: { concurrency: 4, maxAttempts: 2, retryBackoffMs: 10, leaseMs: 2_000 },
      }),
    });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  it.each([0, 50, 150, 300])('cancel %i ms after the batch starts running: every custom_id once', async (delayMs) => {
    const sdk = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 20_000 });
    const ids = Array.from({ length: 24 }, (_, i) => `c${delayMs}-${i}`);
    const text = ids.map((id) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [{ role: 'user', content: id }] } })).join('\n');
    const file = await sdk.files.create({ file: await toFile(Buffer.from(text), 'in.jsonl'), purpose: 'batch' });
    let batch = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const deadline = Date.now() + 20_000;
    while (batch.status === 'validating' && Date.now() < deadline) batch = await sdk.batches.retrieve(batch.id);
    await new Promise((r) => setTimeout(r, delayMs));
    try {
      await sdk.batches.cancel(batch.id);
    } catch (err) {
      // The batch ended before the cancel: nothing to cancel.
      expect(err).toBeInstanceOf(ConflictError);
    }
    while (!['completed', 'cancelled'].includes(batch.status)) {
      if (Date.now() > deadline) throw new Error(`batch still ${batch.status}`);
      await new Promise((r) => setTimeout(r, 50));
      batch = await sdk.batches.retrieve(batch.id);
    }
    const read = async (id: string | null | undefined): Promise<string[]> => (id ? (await (await sdk.files.content(id)).text()).split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { custom_id: string }).custom_id) : []);
    const output = await read(batch.output_file_id);
    const errors = await read(batch.error_file_id);
    expect([...output, ...errors].sort()).toEqual([...ids].sort());
    expect(batch.request_counts).toMatchObject({ total: 24, completed: output.length });
  }, 30_000);
});
