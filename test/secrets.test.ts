import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, deploymentFor, get, KEY, scrapeMetrics, startHarness, type Harness, type HttpResult } from './helpers/harness.js';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

describe('S-18/S-20: canary provider key and prompt marker', () => {
  // The second key has no `sk-` shape, so only exact scrubbing of the configured key catches it.
  it.each([
    ['an sk-CANARY-… key', 'sk-CANARY-'],
    ['a key without the sk- shape (Azure/vLLM style)', 'CANARY'],
  ])('%s never reaches logs, metrics, response bodies or headers; nor does the prompt', async (_name, prefix) => {
    const secretPart = randomBytes(16).toString('hex');
    const canary = `${prefix}${secretPart}`;
    const marker = `PROMPT-MARKER-${randomUUID()}`;
    const logLines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });

    const h = await startHarness({
      // The openai fake insists on the canary, so a success proves the key was sent.
      fakes: [{ dialect: 'openai', apiKey: canary }, { dialect: 'triton' }],
      env: { CANARY_KEY: canary },
      logger,
      config: ([oa, tr]) => ({
        deployments: {
          oa: deploymentFor(oa!, { apiKey: '${env:CANARY_KEY}' }),
          tr: deploymentFor(tr!, { apiKey: '${env:CANARY_KEY}' }),
        },
        models: { a: { targets: [{ deployment: 'oa', model: 'x' }] }, t: { targets: [{ deployment: 'tr', model: 'ensemble' }] } },
      }),
    });
    open.push(h);
    const [oa, tr] = h.fakes;
    const responses: HttpResult[] = [];
    const send = async (model: string, extra: Record<string, unknown> = {}, key: string = KEY): Promise<HttpResult> => {
      const res = await chat(h.url, chatBody(model, { messages: [{ role: 'user', content: `Please repeat ${marker} back.` }], ...extra }), { key });
      responses.push(res);
      return res;
    };
    const echo = (status: number, extra: Record<string, unknown> = {}) => ({
      kind: 'status' as const,
      status,
      body: { error: { message: `Incorrect API key provided: ${canary}. Bearer ${canary}`, type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
      ...extra,
    });

    // Successes, streamed and not, on both dialects.
    expect((await send('a')).status).toBe(200);
    expect((await send('a', { stream: true, stream_options: { include_usage: true } })).status).toBe(200);
    expect((await send('t')).status).toBe(200);
    expect((await send('t', { stream: true })).status).toBe(200);
    // Upstream errors that echo the key back: 401, 400 (message passed on), 429, 500 ×3.
    oa!.enqueue(echo(401));
    expect((await send('a')).status).toBe(502);
    oa!.enqueue(echo(400));
    expect((await send('a')).status).toBe(400);
    tr!.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 500, body: { error: `backend failed for key ${canary}` } })));
    expect((await send('t', { stream: true })).status).toBe(502);
    // Mid-stream failure after commit.
    oa!.enqueue({ kind: 'reset-mid-stream', afterChunks: 2 });
    expect((await send('a', { stream: true })).status).toBe(200);
    // Last on this deployment: the 429 puts it in cooldown.
    oa!.enqueue(echo(429, { headers: { 'retry-after': '120' } }));
    expect((await send('a')).status).toBe(429);
    // A client presenting the provider key as its own bearer token.
    expect((await send('a', {}, canary)).status).toBe(401);
    responses.push(await get(h.url, '/v1/models'));

    const metrics = await scrapeMetrics(h.url);
    const logs = logLines.join('');
    const outputs: Array<[string, string]> = [
      ['logs', logs],
      ['metrics', metrics],
      ...responses.map((r, i): [string, string] => [`response ${i}`, `${JSON.stringify(r.headers)}\n${r.text}`]),
    ];
    const sha = createHash('sha256').update(canary).digest('hex');
    for (const [where, text] of outputs) {
      expect(text.includes(canary), `${where} contains the key`).toBe(false);
      expect(text.includes(secretPart.slice(0, 8)), `${where} contains part of the key`).toBe(false);
      expect(text.includes(sha), `${where} contains the key's SHA-256`).toBe(false);
    }
    // The scrubbed upstream messages still reach the client, so the check above was live.
    expect(responses[5]!.json().error.message).toContain('Incorrect API key provided');

    // S-20: no prompt or completion text in logs (the fakes echo the prompt into the reply).
    expect(responses[0]!.text).toContain(marker);
    expect(logs).not.toContain(marker);
    expect(logs).not.toContain('Please repeat');
    // The logs are not empty: one access line per request (ten chat requests and the models list), with its request id.
    const requestLines = logLines.map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l['msg'] === 'request');
    expect(requestLines).toHaveLength(11);
    for (const r of responses.slice(0, 11)) expect(logs).toContain(r.headers['x-gateway-request-id']!);

    // The key did go to the upstreams, as a bearer token, on every inference call.
    const inference = [...oa!.received, ...tr!.received].filter((r) => r.method === 'POST');
    expect(inference.length).toBeGreaterThanOrEqual(10);
    for (const r of inference) expect(r.headers.authorization).toBe(`Bearer ${canary}`);
  });
});

describe('S-18: an upstream that echoes the key encoded or in pieces (issue 9 §7)', () => {
  it('base64, base64url, hex, URL-encoded, Basic-header and last-20 echoes never reach the client or the access log', async () => {
    // No sk- shape: only the known value, in its encoded forms, can catch these.
    const canary = `CANARY${randomBytes(16).toString('hex')}`;
    const forms: Array<[string, string]> = [
      ['base64', Buffer.from(canary).toString('base64')],
      ['base64url', Buffer.from(`${canary}?>`).toString('base64url')],
      ['basic header', `Basic ${Buffer.from(`user:${canary}`).toString('base64')}`],
      ['hex', Buffer.from(canary).toString('hex')],
      ['url-encoded', `https://internal.example/v1?k=${encodeURIComponent(`${canary}/`)}`],
      ['last 20', `key ending in ${canary.slice(-20)}`],
    ];
    const logLines: string[] = [];
    const h = await startHarness({
      fakes: [{ dialect: 'openai', apiKey: canary }],
      env: { CANARY_KEY: canary },
      logger: pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) }),
      config: ([oa]) => ({
        deployments: { oa: deploymentFor(oa!, { apiKey: '${env:CANARY_KEY}' }) },
        models: { a: { targets: [{ deployment: 'oa', model: 'x' }] } },
        // Every 5xx round below is three failures: keep the breaker closed throughout.
        circuitBreaker: { failureThreshold: 1000 },
      }),
    });
    open.push(h);
    const [oa] = h.fakes;
    const outputs: string[] = [];
    for (const [name, echoed] of forms) {
      const body = { error: { message: `${name}: we received ${echoed} and refused it`, type: 'invalid_request_error', param: echoed, code: echoed } };
      // A 4xx is passed on (message, param, code); a 5xx ends as a 502 after the retries.
      oa!.enqueue({ kind: 'status', status: 400, body });
      const bad = await chat(h.url, chatBody('a'));
      expect(bad.status).toBe(400);
      // A base64 string's last group mixes the key's last byte with what follows: up to 4
      // characters may stay behind the redaction, carrying a few bits of the key at most.
      expect(bad.json().error.message).toMatch(/we received .*\[redacted\]\S{0,4} and refused it$/);
      oa!.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 500, body })));
      const failed = await chat(h.url, chatBody('a', { stream: true }));
      expect(failed.status).toBe(502);
      outputs.push(`${JSON.stringify(bad.headers)}${bad.text}`, `${JSON.stringify(failed.headers)}${failed.text}`);
      for (const text of [bad.text, failed.text]) expect(text, `${name} reached the client`).not.toContain(echoed.slice(-16));
    }
    outputs.push(logLines.join(''));
    expect(logLines.filter((l) => l.includes('"msg":"request"'))).toHaveLength(forms.length * 2);
    for (const text of outputs) {
      for (const [name, echoed] of forms) expect(text.includes(echoed), `${name} leaked`).toBe(false);
      for (let i = 0; i + 12 <= canary.length; i++) expect(text.includes(canary.slice(i, i + 12)), 'a 12-character piece of the key leaked').toBe(false);
    }
  });
});
