/**
 * The official `openai` SDK's `files` and `batches` calls against the gateway, unchanged: upload
 * (toFile), list with cursor pagination, retrieve, content, delete; create, retrieve, list,
 * cancel; the output and error files in OpenAI's line format. Per team: another team's ids are
 * 404s. Embedded database and PostgreSQL.
 */
import OpenAI, { BadRequestError, ConflictError, NotFoundError, toFile } from 'openai';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { deploymentFor, KEY, startHarness } from './helpers/harness.js';
import { chatLine, OTHER_KEY, startBatchHarness, type BatchHarness, type Driver, type ItemOutcome } from './helpers/batches.js';
import { sharedPostgresAvailable } from './helpers/postgres.js';

const pgAvailable = await sharedPostgresAvailable();
// Each test starts its own gateway (an embedded database from a template, migrations): on a busy
// 2-core machine that alone took most of the default 20 s once.
vi.setConfig({ testTimeout: 60_000 });
const open: BatchHarness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function setup(driver: Driver, outcome?: ItemOutcome): Promise<{ h: BatchHarness; client: (key?: string) => OpenAI }> {
  const h = await startBatchHarness(driver, outcome ? { outcome } : {});
  open.push(h);
  return { h, client: (key = KEY) => new OpenAI({ baseURL: `${h.url}/v1`, apiKey: key, maxRetries: 0, timeout: 20_000 }) };
}

async function until<T>(read: () => Promise<T>, done: (v: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    if (Date.now() > deadline) throw new Error(`not as expected within ${timeoutMs} ms: ${JSON.stringify(v)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const jsonl = (ids: readonly string[]): string => `${ids.map((id) => chatLine(id)).join('\n')}\n`;

describe.each(['embedded', 'postgres'] as const)('openai SDK files and batches (%s)', (driver) => {
  const skip = driver === 'postgres' && !pgAvailable;

  it.skipIf(skip)('files: create, retrieve, list (paged, by purpose), content, delete', async () => {
    const { client } = await setup(driver);
    const sdk = client();
    const text = jsonl(['a', 'b', 'c']);
    const made = [];
    for (const name of ['one.jsonl', 'two.jsonl', 'three.jsonl']) made.push(await sdk.files.create({ file: await toFile(Buffer.from(text), name), purpose: 'batch' }));
    const [first] = made;
    expect(first).toMatchObject({ object: 'file', bytes: Buffer.byteLength(text), filename: 'one.jsonl', purpose: 'batch', status: 'processed' });
    expect(first!.id).toMatch(/^file-[0-9a-f]{24}$/);
    // Kept batches.fileRetentionDays (30) by default.
    expect(first!.expires_at! - first!.created_at).toBe(30 * 86_400);

    expect(await sdk.files.retrieve(first!.id)).toEqual(first);
    const listed = [];
    for await (const f of sdk.files.list({ limit: 2, purpose: 'batch' })) listed.push(f.id);
    expect(listed).toEqual(made.map((f) => f.id).reverse());
    const asc = await sdk.files.list({ order: 'asc', limit: 2 });
    expect(asc.data.map((f) => f.id)).toEqual(made.slice(0, 2).map((f) => f.id));
    expect(asc.has_more).toBe(true);
    expect((await sdk.files.list({ purpose: 'batch_output' })).data).toEqual([]);
    expect((await sdk.files.list({ purpose: 'fine\u0000tune' })).data).toEqual([]);

    const content = await sdk.files.content(first!.id);
    expect(await content.text()).toBe(text);

    expect(await sdk.files.delete(first!.id)).toEqual({ id: first!.id, object: 'file', deleted: true });
    await expect(sdk.files.retrieve(first!.id)).rejects.toBeInstanceOf(NotFoundError);
    await expect(sdk.files.delete(first!.id)).rejects.toBeInstanceOf(NotFoundError);
  });

  it.skipIf(skip)('files: expires_after sets expires_at; a bad purpose is a 400 naming it', async () => {
    const { client } = await setup(driver);
    const f = await client().files.create({ file: await toFile(Buffer.from(jsonl(['a'])), 'x.jsonl'), purpose: 'batch', expires_after: { anchor: 'created_at', seconds: 7_200 } });
    expect(f.expires_at! - f.created_at).toBe(7_200);
    const err = await client().files.create({ file: await toFile(Buffer.from(jsonl(['a'])), 'x.jsonl'), purpose: 'fine-tune' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).param).toBe('purpose');
    const lines = jsonl(['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h']).split('\n');
    lines[6] = '{"custom_id": "g",';
    const line7 = await client().files.create({ file: await toFile(Buffer.from(lines.join('\n')), 'x.jsonl'), purpose: 'batch' }).catch((e: unknown) => e);
    expect(line7).toBeInstanceOf(BadRequestError);
    expect((line7 as BadRequestError).message).toMatch(/Line 7: this line is not valid JSON/);
    expect((await client().files.list()).data.map((x) => x.id)).toEqual([f.id]);
  });

  it.skipIf(skip)('batches: create, retrieve, list, cancel; the error file lists every item as batch_cancelled, in order', async () => {
    const { client } = await setup(driver);
    const sdk = client();
    const ids = Array.from({ length: 5 }, (_, i) => `req-${i}`);
    const file = await sdk.files.create({ file: await toFile(Buffer.from(jsonl(ids)), 'in.jsonl'), purpose: 'batch' });
    const created = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { job: 'nightly' } });
    expect(created).toMatchObject({ object: 'batch', status: 'validating', endpoint: '/v1/chat/completions', input_file_id: file.id, completion_window: '24h', metadata: { job: 'nightly' }, request_counts: { total: 0, completed: 0, failed: 0 } });
    expect(created.id).toMatch(/^batch_[0-9a-f]{24}$/);
    expect(created.expires_at! - created.created_at).toBe(86_400);

    const running = await until(() => sdk.batches.retrieve(created.id), (b) => b.status === 'in_progress');
    expect(running.request_counts).toEqual({ total: 5, completed: 0, failed: 0 });
    expect(running.in_progress_at).toBeGreaterThanOrEqual(created.created_at);

    const second = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const pages = [];
    for await (const b of sdk.batches.list({ limit: 1 })) pages.push(b.id);
    expect(pages).toEqual([second.id, created.id]);

    const cancelled = await sdk.batches.cancel(created.id);
    expect(cancelled.status).toBe('cancelled');
    expect(cancelled.cancelled_at).toBeGreaterThan(0);
    expect(cancelled.output_file_id).toBeNull();
    expect(cancelled.error_file_id).toMatch(/^file-/);
    expect(cancelled.request_counts).toEqual({ total: 5, completed: 0, failed: 0 });
    // Cancelling again answers the batch as it is.
    expect((await sdk.batches.cancel(created.id)).status).toBe('cancelled');

    const errorFile = await sdk.files.retrieve(cancelled.error_file_id!);
    expect(errorFile).toMatchObject({ purpose: 'batch_error', status: 'processed' });
    const lines = (await (await sdk.files.content(errorFile.id)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines.map((l) => l.custom_id)).toEqual(ids);
    for (const [i, l] of lines.entries()) {
      expect(l).toEqual({ id: `batch_req_${created.id.slice(6)}_${i}`, custom_id: ids[i], response: null, error: { code: 'batch_cancelled', message: expect.any(String) } });
    }
  });

  it.skipIf(skip)('a finished batch: output and error files in OpenAI\'s format, in input order; a cancel is a 409', async () => {
    const outcome: ItemOutcome = (customId, line) =>
      line % 3 === 2
        ? { kind: 'response', statusCode: 400, requestId: `r-${line}`, body: { error: { message: 'bad', type: 'invalid_request_error', param: null, code: 'invalid_request' } }, costPico: null }
        : { kind: 'response', statusCode: 200, requestId: `r-${line}`, body: { id: `chatcmpl-${customId}`, object: 'chat.completion' }, costPico: 5n };
    const { client } = await setup(driver, outcome);
    const sdk = client();
    // More than two pages of the output file (100 items a page).
    const ids = Array.from({ length: 250 }, (_, i) => `c${i}`);
    const file = await sdk.files.create({ file: await toFile(Buffer.from(jsonl(ids)), 'in.jsonl'), purpose: 'batch' });
    const created = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await until(() => sdk.batches.retrieve(created.id), (b) => b.status === 'completed', 50_000);
    expect(done.request_counts).toEqual({ total: 250, completed: 167, failed: 83 });
    expect(done.completed_at).toBeGreaterThan(0);

    const output = (await (await sdk.files.content(done.output_file_id!)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(output.map((l) => l.custom_id)).toEqual(ids.filter((_, i) => i % 3 !== 2));
    expect(output[1]).toEqual({ id: `batch_req_${created.id.slice(6)}_1`, custom_id: 'c1', response: { status_code: 200, request_id: 'r-1', body: { id: 'chatcmpl-c1', object: 'chat.completion' } }, error: null });
    const errors = (await (await sdk.files.content(done.error_file_id!)).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(errors.map((l) => l.custom_id)).toEqual(ids.filter((_, i) => i % 3 === 2));
    expect(errors[0]).toMatchObject({ custom_id: 'c2', response: { status_code: 400, request_id: 'r-2', body: { error: { code: 'invalid_request' } } }, error: null });
    expect((await sdk.files.retrieve(done.output_file_id!)).purpose).toBe('batch_output');

    await expect(sdk.batches.cancel(created.id)).rejects.toBeInstanceOf(ConflictError);
  }, 60_000);

  it.skipIf(skip)("another team's files and batches are 404s, whatever the call", async () => {
    const { client } = await setup(driver);
    const mine = client();
    const theirs = client(OTHER_KEY);
    const file = await mine.files.create({ file: await toFile(Buffer.from(jsonl(['a'])), 'in.jsonl'), purpose: 'batch' });
    const batch = await mine.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    for (const call of [
      () => theirs.files.retrieve(file.id),
      () => theirs.files.content(file.id),
      () => theirs.files.delete(file.id),
      () => theirs.batches.retrieve(batch.id),
      () => theirs.batches.cancel(batch.id),
      () => theirs.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }),
    ]) {
      await expect(call()).rejects.toBeInstanceOf(NotFoundError);
    }
    expect((await theirs.files.list()).data).toEqual([]);
    expect((await theirs.batches.list()).data).toEqual([]);
    // Still there for their owner.
    expect((await mine.files.retrieve(file.id)).id).toBe(file.id);
    expect((await mine.batches.retrieve(batch.id)).id).toBe(batch.id);
  });

  it.skipIf(skip)('create: a bad endpoint, window or file is a 400 naming the field; an output file is no input', async () => {
    const outcome: ItemOutcome = () => ({ kind: 'response', statusCode: 200, requestId: 'r', body: {}, costPico: 0n });
    const { client } = await setup(driver, outcome);
    const sdk = client();
    const file = await sdk.files.create({ file: await toFile(Buffer.from(jsonl(['a'])), 'in.jsonl'), purpose: 'batch' });
    const bad = async (body: Record<string, unknown>): Promise<string | null | undefined> => {
      const err = await sdk.batches.create(body as never).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(BadRequestError);
      return (err as BadRequestError).param;
    };
    expect(await bad({ input_file_id: file.id, endpoint: '/v1/moderations', completion_window: '24h' })).toBe('endpoint');
    expect(await bad({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '48h' })).toBe('completion_window');
    expect(await bad({ endpoint: '/v1/chat/completions', completion_window: '24h' })).toBe('input_file_id');
    expect(await bad({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { k: 1 } })).toBe('metadata');
    // PostgreSQL refuses U+0000 and lone surrogates: a 400, not a 500.
    expect(await bad({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { k: 'a\ud800' } })).toBe('metadata');
    expect(await bad({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h', metadata: { k: 'a\u0000' } })).toBe('metadata');
    await expect(sdk.batches.create({ input_file_id: 'file-\u0000', endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toBeInstanceOf(NotFoundError);
    await expect(sdk.batches.create({ input_file_id: 'file-000000000000000000000000', endpoint: '/v1/chat/completions', completion_window: '24h' })).rejects.toBeInstanceOf(NotFoundError);
    const batch = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    const done = await until(() => sdk.batches.retrieve(batch.id), (b) => b.status === 'completed');
    expect(await bad({ input_file_id: done.output_file_id, endpoint: '/v1/chat/completions', completion_window: '24h' })).toBe('input_file_id');
  });

  it.skipIf(skip)("a batch whose lines do not fit its endpoint fails validation with OpenAI's errors list", async () => {
    const { client } = await setup(driver);
    const sdk = client();
    const file = await sdk.files.create({ file: await toFile(Buffer.from(jsonl(['a', 'b'])), 'in.jsonl'), purpose: 'batch' });
    const batch = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/embeddings', completion_window: '24h' });
    const failed = await until(() => sdk.batches.retrieve(batch.id), (b) => b.status === 'failed');
    expect(failed.errors?.object).toBe('list');
    expect(failed.errors?.data?.map((e) => [e.line, e.code, e.param])).toEqual([
      [1, 'mismatched_endpoint', 'url'],
      [2, 'mismatched_endpoint', 'url'],
    ]);
    expect(failed.failed_at).toBeGreaterThan(0);
  });

  it.skipIf(skip)('deleting the input file of a validated batch leaves the batch and its items', async () => {
    const { client } = await setup(driver);
    const sdk = client();
    const file = await sdk.files.create({ file: await toFile(Buffer.from(jsonl(['a', 'b'])), 'in.jsonl'), purpose: 'batch' });
    const batch = await sdk.batches.create({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    await until(() => sdk.batches.retrieve(batch.id), (b) => b.status === 'in_progress');
    await sdk.files.delete(file.id);
    const cancelled = await sdk.batches.cancel(batch.id);
    expect(cancelled.request_counts?.total).toBe(2);
    const lines = (await (await sdk.files.content(cancelled.error_file_id!)).text()).trim().split('\n');
    expect(lines).toHaveLength(2);
  });
});

describe('without a control plane', () => {
  it('the Batch API answers 404 saying what it needs', async () => {
    const h = await startHarness({ fakes: [{ dialect: 'openai' }], config: ([f]) => ({ deployments: { d: deploymentFor(f!) }, models: { m: { targets: [{ deployment: 'd', model: 'm' }] } } }) });
    try {
      const sdk = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0 });
      const err = await sdk.files.list().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(NotFoundError);
      expect((err as NotFoundError).message).toMatch(/control plane/);
      await expect(sdk.batches.retrieve('batch_x')).rejects.toBeInstanceOf(NotFoundError);
    } finally {
      await h.close();
    }
  });
});
