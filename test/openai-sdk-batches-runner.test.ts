/**
 * The official `openai` SDK driving the whole Batch API flow against a gateway running its REAL
 * runner (not the validate-only test engine): files.create → batches.create → batches.retrieve
 * until it ends → files.content of the output and error files. The fake upstream fails a share of
 * requests (seeded) and some items can never succeed (a model the key may not use): every
 * custom_id is in exactly one of the two files, once, in OpenAI's line format. Embedded database
 * and PostgreSQL.
 */
import OpenAI, { toFile } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { deploymentFor, KEY, startHarness, type Harness } from './helpers/harness.js';
import { createTestDatabase, sharedPostgresAvailable } from './helpers/postgres.js';

const pgAvailable = await sharedPostgresAvailable();
const open: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((close) => close()));
});

const ITEMS = 60;
/** Every 7th item asks for a model the key may not use: a 403 no retry fixes. */
const forbidden = (i: number): boolean => i % 7 === 3;

async function gateway(driver: 'embedded' | 'postgres'): Promise<Harness> {
  const database = driver === 'postgres' ? await createTestDatabase('sdkrunner') : undefined;
  const h = await startHarness({
    // A third of upstream answers are 500s (seeded): items retried by the batch, some dead-lettered.
    fakes: [{ dialect: 'openai', behaviour: { failureRate: 0.3, seed: 7 } }],
    config: (f) => ({
      retry: { maxAttempts: 1 },
      circuitBreaker: { failureThreshold: 100_000, openMs: 1_000 },
      deployments: { d: deploymentFor(f[0]!) },
      models: { m: { targets: [{ deployment: 'd', model: 'up', price: { input: 1, output: 2 } }] }, secret: { targets: [{ deployment: 'd', model: 'up' }] } },
      tenants: { main: { keys: [KEY], models: ['m'] } },
      state: { database: database ? { url: database.url } : { dataDir: ':memory:' } },
      batches: { concurrency: 4, maxAttempts: 2, retryBackoffMs: 10, leaseMs: 2_000 },
    }),
  });
  open.push(async () => {
    await h.close();
    await database?.drop();
  });
  return h;
}

interface ResultLine {
  id: string;
  custom_id: string;
  response: { status_code: number; request_id: string; body: Record<string, unknown> } | null;
  error: { code: string; message: string } | null;
}

describe.each(['embedded', 'postgres'] as const)('openai SDK batch flow with the real runner (%s)', (driver) => {
  it.skipIf(driver === 'postgres' && !pgAvailable)(
    'every custom_id ends once, in the output or the error file, in OpenAI line format',
    async () => {
      const h = await gateway(driver);
      const sdk = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 20_000 });
      const ids = Array.from({ length: ITEMS }, (_, i) => `item-${i}`);
      const lines = ids.map((id, i) => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: forbidden(i) ? 'secret' : 'm', max_tokens: 3, messages: [{ role: 'user', content: `say ${id}` }] } }));
      const file = await sdk.files.create({ file: await toFile(Buffer.from(`${lines.join('\n')}\n`), 'in.jsonl'), purpose: 'batch' });
      const created = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { run: 'sdk' } });
      expect(created.status).toBe('validating');

      let batch = created;
      const deadline = Date.now() + 45_000;
      while (!['completed', 'failed', 'expired', 'cancelled'].includes(batch.status)) {
        if (Date.now() > deadline) throw new Error(`batch still ${batch.status}: ${JSON.stringify(batch.request_counts)}`);
        await new Promise((r) => setTimeout(r, 100));
        batch = await sdk.batches.retrieve(created.id);
      }
      expect(batch.status).toBe('completed');
      expect(batch.metadata).toEqual({ run: 'sdk' });
      expect(batch.request_counts?.total).toBe(ITEMS);
      expect(batch.output_file_id).toBeTruthy();
      expect(batch.error_file_id).toBeTruthy();

      const read = async (id: string): Promise<ResultLine[]> => (await (await sdk.files.content(id)).text()).split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as ResultLine);
      const output = await read(batch.output_file_id!);
      const errors = await read(batch.error_file_id!);
      expect(output.length).toBe(batch.request_counts!.completed);
      expect(errors.length).toBe(batch.request_counts!.failed);

      const seen = [...output, ...errors].map((l) => l.custom_id).sort();
      expect(seen).toEqual([...ids].sort());
      for (const line of output) {
        expect(Object.keys(line).sort()).toEqual(['custom_id', 'error', 'id', 'response']);
        expect(line.id).toMatch(/^batch_req_/);
        expect(line.error).toBeNull();
        expect(line.response!.status_code).toBe(200);
        expect(typeof line.response!.request_id).toBe('string');
        expect(line.response!.body).toMatchObject({ object: 'chat.completion' });
      }
      for (const line of errors) {
        expect(Object.keys(line).sort()).toEqual(['custom_id', 'error', 'id', 'response']);
        expect(line.error).toBeNull();
        expect(line.response!.status_code).toBeGreaterThanOrEqual(400);
        expect(line.response!.body).toHaveProperty('error.message');
      }
      // The forbidden items failed with 403; the rest of the error file is upstream 5xx that outlasted their runs.
      for (const [i, id] of ids.entries()) {
        const inErrors = errors.find((l) => l.custom_id === id);
        if (forbidden(i)) expect(inErrors?.response?.status_code).toBe(403);
        else if (inErrors) expect(inErrors.response!.status_code).toBeGreaterThanOrEqual(500);
      }
      // Output lines are in input-line order.
      const order = output.map((l) => ids.indexOf(l.custom_id));
      expect(order).toEqual([...order].sort((a, b) => a - b));
    },
    60_000,
  );
});
