/**
 * Attack on issue 12's request log (payload storage and the requests API), over real sockets
 * against the embedded store.
 *
 * 1. Redaction of a streamed completion: the stored response is the stream's chunks, each a
 *    JSON object holding a few characters of the answer, and the team's patterns run over that
 *    JSON array. A secret the model writes out is split across chunks, so no pattern matching
 *    the whole secret ever sees it: the stored payload holds it, in pieces anyone reading the
 *    payload joins back. (Fixed: a stream's text is joined per choice before redaction.)
 * 2. A cursor or a `from`/`to` instant outside PostgreSQL's timestamp range is bad input and
 *    must be a 400 naming the parameter, not a database error.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { admin, startAdminHarness } from '../helpers/admin.js';
import { chat, chatBody, type Harness } from '../helpers/harness.js';

const SECRET = 'sk-live-abc123def456ghi789';
let h: Harness;
let key: string;
let betaKey: string;

beforeAll(async () => {
  // The model repeats the secret it was shown, streamed in many small pieces as models do.
  h = await startAdminHarness(['gpt-mini'], { requestLog: { flushMs: 100 } }, { dialect: 'openai', behaviour: { reply: `Sure, your key is ${SECRET}.`, chunks: 12 } });
  expect((await admin(h.url, 'POST', '/teams', { name: 'alpha', models: ['gpt-mini'], payloads: { store: true, maxBytes: 65_536, redact: ['sk-live-[a-z0-9]+'] } })).status).toBe(201);
  key = (await admin(h.url, 'POST', '/keys', { team: 'alpha' })).body.key;
  // beta's rule names the whole key (24 characters after the prefix, written {8} three times: V8's linear engine refuses {24}).
  expect((await admin(h.url, 'POST', '/teams', { name: 'beta', models: ['gpt-mini'], payloads: { store: true, maxBytes: 256, redact: ['sk-live-[a-z0-9]{8}[a-z0-9]{8}[a-z0-9]{8}'] } })).status).toBe(201);
  betaKey = (await admin(h.url, 'POST', '/keys', { team: 'beta' })).body.key;
}, 60_000);
afterAll(() => h?.close());

async function stored(id: string): Promise<{ payload: { request: string; response: string } }> {
  const until = Date.now() + 10_000;
  let found = await admin(h.url, 'GET', `/requests/${id}`);
  while (found.status !== 200 && Date.now() < until) {
    await new Promise((r) => setTimeout(r, 50));
    found = await admin(h.url, 'GET', `/requests/${id}`);
  }
  expect(found.status).toBe(200);
  return found.body;
}

/** The text of the answer as the stored payload gives it back (streamed: the deltas joined). */
function answerText(response: string): string {
  const parsed = JSON.parse(response) as { object?: string; choices: Array<{ text?: string; message?: { content: string } }> };
  if (parsed.object === 'stream.text') return parsed.choices.map((c) => c.text ?? '').join('');
  return parsed.choices[0]!.message!.content;
}

describe('request payloads: redaction', () => {
  it('redacts a secret in a non-streamed answer (holds)', async () => {
    const res = await chat(h.url, chatBody('gpt-mini'), { key });
    expect(res.status).toBe(200);
    const row = await stored(res.headers['x-gateway-request-id'] as string);
    expect(row.payload.response).not.toContain(SECRET);
    expect(answerText(row.payload.response)).toContain('[REDACTED]');
  });

  // FINDING (medium, secret leak; fixed): the stored stream was its chunks, so a secret split over
  // chunks escaped the rules and was readable by joining the deltas. Now the text is joined per
  // choice before the rules run.
  it('redacts a secret the model streams out in pieces', async () => {
    const res = await chat(h.url, chatBody('gpt-mini', { stream: true }), { key });
    expect(res.status).toBe(200);
    const row = await stored(res.headers['x-gateway-request-id'] as string);
    expect(answerText(row.payload.response)).not.toContain(SECRET);
    expect(answerText(row.payload.response)).toContain('Sure, your key is [REDACTED].');
  });
});

describe('request payloads: redaction after the cut', () => {
  // FINDING (low, partial secret leak; fixed): the body was cut to maxBytes first and redacted
  // after, so a key straddling the cut no longer matched. Now it is captured a little longer,
  // redacted, then cut.
  it('a secret cut in half by maxBytes is not stored in part', async () => {
    const secret = 'sk-live-0123456789abcdefghijklmn';
    // The request's JSON reaches maxBytes (256) in the middle of the secret.
    const prefix = JSON.stringify(chatBody('gpt-mini', { messages: [{ role: 'user', content: '' }] })).indexOf('""') + 1;
    const pad = 'x'.repeat(256 - prefix - 20);
    const res = await chat(h.url, chatBody('gpt-mini', { messages: [{ role: 'user', content: `${pad}${secret} end` }] }), { key: betaKey });
    expect(res.status).toBe(200);
    const row = await stored(res.headers['x-gateway-request-id'] as string);
    expect(row.payload.request.length).toBeLessThanOrEqual(256);
    expect(row.payload.request).toContain(`${pad}[REDACTED]`);
    expect(row.payload.request).not.toContain('sk-live-0123456789');
  });
});

describe('requests API: instants PostgreSQL cannot hold', () => {
  const cursorAt = (at: string, id = 'x'): string => Buffer.from(JSON.stringify([at, id])).toString('base64url');

  it.each([
    ['cursor', `cursor=${cursorAt('+275760-09-13T00:00:00.000Z')}`],
    ['cursor', `cursor=${cursorAt('-271821-04-20T00:00:00.000Z')}`],
    ['cursor', `cursor=${cursorAt('2026-12-01T00:00:00.000Z', 'a\u0000b')}`],
    ['from', 'from=0000-01-01T00:00:00Z'],
    ['to', 'to=9999-12-31T23:59:59.999%2B23:59'],
  ])('%s out of range is a 400 naming it (%s)', async (param, query) => {
    const res = await admin(h.url, 'GET', `/requests?${query}`);
    if (res.status === 200) return; // the database holds it: nothing to refuse
    expect(res.status).toBe(400);
    expect(res.body.error.param).toBe(param);
  });
});
