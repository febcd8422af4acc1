/**
 * Batch API tests: a gateway with the control plane on (embedded in memory, or a database of its
 * own on the shared PostgreSQL), the team `main` (KEY) and the team `other` (OTHER_KEY), and an
 * engine that validates batches and, when told, ends their items with made-up results instead of
 * running them (the runner has tests of its own).
 */
import { randomBytes } from 'node:crypto';
import { pino } from 'pino';
import type { GatewayOptions } from '../../src/app.js';
import { recordItemResult, type ItemResult } from '../../src/batches/item-results.js';
import type { BatchEngine } from '../../src/batches/engine.js';
import { ValidateOnlyEngine } from './validate-only-engine.js';
import { validateBatch } from '../../src/batches/validate.js';
import { batchItems } from '../../src/control/store/schema.js';
import { and, asc, eq } from 'drizzle-orm';
import { deepMerge, deploymentFor, KEY, startHarness, type Harness } from './harness.js';
import { createTestDatabase } from './postgres.js';

export const OTHER_KEY = 'sk-test-other-0123456789';

export type Driver = 'embedded' | 'postgres';

/** How the test engine ends each item after validation: a result, or undefined to leave it queued. */
export type ItemOutcome = (customId: string, line: number) => ItemResult | undefined;

export interface BatchHarness extends Harness {
  close(): Promise<void>;
}

/**
 * A gateway serving the Batch API on `driver`. With `outcome`, each validated item ends at once
 * with what it returns (through recordItemResult, as the runner would); without, items stay queued.
 */
export async function startBatchHarness(
  driver: Driver,
  options: { outcome?: ItemOutcome; config?: Record<string, unknown>; env?: NodeJS.ProcessEnv; databaseUrl?: (url: string) => string } = {},
): Promise<BatchHarness> {
  const database = driver === 'postgres' ? await createTestDatabase('batchapi') : undefined;
  const batchEngine: GatewayOptions['batchEngine'] = ({ db, config }) => {
    const settings = () => ({ maxLines: config.batches.maxLines, maxLineBytes: config.server.bodyLimitBytes });
    const logger = pino({ level: 'silent' });
    if (!options.outcome) return new ValidateOnlyEngine({ db, settings, logger });
    const outcome = options.outcome;
    return {
      async submit(batchId) {
        const store = db();
        if (!store) return;
        await validateBatch(store, batchId, settings());
        const items = await store.select({ line: batchItems.line, customId: batchItems.customId }).from(batchItems).where(and(eq(batchItems.batchId, batchId), eq(batchItems.state, 'queued'))).orderBy(asc(batchItems.line));
        for (const item of items) {
          const result = outcome(item.customId, item.line);
          if (result) await recordItemResult(store, batchId, item.line, result, { now: new Date(), retentionDays: config.batches.fileRetentionDays });
        }
      },
      async requeue() {},
      start() {},
      async close() {},
    } satisfies BatchEngine;
  };
  try {
    const h = await startHarness({
      fakes: [{ dialect: 'openai' }],
      batchEngine,
      ...(options.env ? { env: options.env } : {}),
      config: (f) =>
        deepMerge(
          {
            deployments: { d: deploymentFor(f[0]!) },
            models: { m: { targets: [{ deployment: 'd', model: 'm' }] } },
            tenants: { main: { keys: [KEY], models: ['*'] }, other: { keys: [OTHER_KEY], models: ['*'] } },
            state: { database: database ? { url: options.databaseUrl?.(database.url) ?? database.url } : { dataDir: ':memory:' } },
          },
          options.config ?? {},
        ),
    });
    return {
      ...h,
      close: async () => {
        await h.close();
        await database?.drop();
      },
    };
  } catch (err) {
    await database?.drop();
    throw err;
  }
}

/** A chat request line of a batch input file. */
export function chatLine(customId: string, extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ custom_id: customId, method: 'POST', url: '/v1/chat/completions', body: { model: 'm', messages: [{ role: 'user', content: `say ${customId}` }] }, ...extra });
}

/** A multipart/form-data body (file part as given, then fields), as pieces, with its content type. */
export function multipart(file: { readonly name?: string; readonly filename?: string; readonly parts: Iterable<Buffer | string> } | undefined, fields: Record<string, string>): { contentType: string; body: () => AsyncGenerator<Buffer> } {
  const boundary = `----batchtest${randomBytes(8).toString('hex')}`;
  return {
    contentType: `multipart/form-data; boundary=${boundary}`,
    body: async function* () {
      if (file) {
        yield Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${file.name ?? 'file'}"; filename="${file.filename ?? 'in.jsonl'}"\r\ncontent-type: application/jsonl\r\n\r\n`);
        for (const p of file.parts) yield typeof p === 'string' ? Buffer.from(p) : p;
        yield Buffer.from('\r\n');
      }
      for (const [k, v] of Object.entries(fields)) yield Buffer.from(`--${boundary}\r\ncontent-disposition: form-data; name="${k}"\r\n\r\n${v}\r\n`);
      yield Buffer.from(`--${boundary}--\r\n`);
    },
  };
}
