/**
 * Who may use the Batch API, and what it answers when its database is gone: a person signed in
 * with a JWT may upload and read the team's files and batches but not create a batch (items run
 * as an API key); a database that went silent is a 503 control_plane_unavailable within the
 * statement deadline, and the Batch API works again once it is back.
 */
import OpenAI, { InternalServerError, PermissionDeniedError, toFile } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FakeIdp, type FakeIdpKey } from '../src/testing/fake-idp.js';
import { chatLine, startBatchHarness, type BatchHarness } from './helpers/batches.js';
import { KEY } from './helpers/harness.js';
import { identityConfig, signToken } from './helpers/identity.js';
import { sharedPostgresAvailable } from './helpers/postgres.js';
import { startTcpProxy, type TcpProxy } from './helpers/tcp-proxy.js';

const pgAvailable = await sharedPostgresAvailable();
const file = async () => toFile(Buffer.from(`${chatLine('a')}\n${chatLine('b')}\n`), 'in.jsonl');

describe('a person signed in with a JWT', () => {
  let h: BatchHarness;
  let idp: FakeIdp;
  let rsa: FakeIdpKey;
  beforeAll(async () => {
    idp = await FakeIdp.start();
    rsa = await idp.addKey('RS256');
    h = await startBatchHarness('embedded', { config: { identity: identityConfig(idp) } });
  }, 60_000);
  afterAll(async () => {
    await h?.close();
    await idp?.close();
  });

  it("uploads and reads the team's files and batches, but creates batches only with an API key", async () => {
    const token = await signToken(idp, rsa, { sub: 'ada', team: 'main', roles: ['member'] });
    const person = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: token, maxRetries: 0 });
    const key = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const uploaded = await person.files.create({ file: await file(), purpose: 'batch' });
    const err = await person.batches.create({ input_file_id: uploaded.id, endpoint: '/v1/chat/completions', completion_window: '24h' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PermissionDeniedError);
    expect((err as PermissionDeniedError).message).toMatch(/API key/);
    // The team's key sees the person's file, and runs the batch.
    const batch = await key.batches.create({ input_file_id: uploaded.id, endpoint: '/v1/chat/completions', completion_window: '24h' });
    expect((await person.batches.retrieve(batch.id)).id).toBe(batch.id);
    expect((await person.batches.list()).data.map((b) => b.id)).toEqual([batch.id]);
  });
});

describe.skipIf(!pgAvailable)('the database goes silent', () => {
  let h: BatchHarness;
  let proxy: TcpProxy;
  beforeAll(async () => {
    proxy = await startTcpProxy(5432);
    h = await startBatchHarness('postgres', {
      databaseUrl: (url) => url.replace(':5432/', `:${proxy.port}/`),
      config: { state: { database: { statementTimeoutMs: 1_000, connectTimeoutMs: 1_000 } } },
    });
  }, 60_000);
  afterAll(async () => {
    proxy?.heal();
    await h?.close();
    await proxy?.close();
  });

  it('files and batches answer 503 control_plane_unavailable within the deadline, and work again after', async () => {
    const sdk = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 20_000 });
    const uploaded = await sdk.files.create({ file: await file(), purpose: 'batch' });
    proxy.blackhole();
    for (const call of [() => sdk.files.list(), () => sdk.files.retrieve(uploaded.id), () => sdk.batches.list(), async () => sdk.files.create({ file: await file(), purpose: 'batch' })]) {
      const started = Date.now();
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(InternalServerError);
      expect((err as InternalServerError).status).toBe(503);
      expect((err as InternalServerError).headers?.get('retry-after')).toBe('5');
      expect(JSON.stringify((err as InternalServerError).error)).toContain('control_plane_unavailable');
      expect(Date.now() - started).toBeLessThan(8_000);
    }
    proxy.heal();
    const deadline = Date.now() + 15_000;
    for (;;) {
      const list = await sdk.files.list().catch(() => undefined);
      if (list) {
        expect(list.data.map((f) => f.id)).toEqual([uploaded.id]);
        break;
      }
      if (Date.now() > deadline) throw new Error('the Batch API did not recover');
      await new Promise((r) => setTimeout(r, 200));
    }
  }, 60_000);
});
