import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import {
  chat,
  chatBody,
  deploymentFor,
  dispatcherOption,
  get,
  KEY,
  metricValue,
  parseRawResponse,
  rawHttp,
  scrapeMetrics,
  seriesCount,
  startHarness,
  type Harness,
} from './helpers/harness.js';

const LIMITED_KEY = 'sk-test-limited-0123456789';
const TIGHT_KEY = 'sk-test-tight-0123456789';
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

/** One openai fake behind aliases `m` and `other`; tenants main (all), limited (m only), tight (2 requests). */
async function start(server: Record<string, unknown> = {}): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    config: ([a]) => ({
      server,
      deployments: { a: deploymentFor(a!) },
      models: { m: { targets: [{ deployment: 'a', model: 'x' }] }, other: { targets: [{ deployment: 'a', model: 'y' }] } },
      tenants: {
        main: { keys: [KEY], models: ['*'] },
        limited: { keys: [LIMITED_KEY], models: ['m'] },
        tight: { keys: [TIGHT_KEY], models: ['*'], limits: { requests: { capacity: 2, refillPerSecond: 0.001 } } },
      },
    }),
  });
  open.push(h);
  return h;
}

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string } };

function errorOf(res: { status: number; json(): unknown }): ErrorBody['error'] {
  const body = res.json() as ErrorBody;
  expect(Object.keys(body)).toEqual(['error']);
  expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
  return body.error;
}

function post(h: Harness, body: string | Readable, headers: Record<string, string> = {}) {
  return request(`${h.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}`, ...headers },
    body,
    ...dispatcherOption(h.url),
  });
}

describe('S-01: unreadable bodies', () => {
  it('malformed JSON, JSON cut short and a wrong Content-Type → 400 invalid_request_error; upstream never called', async () => {
    const h = await start();
    const full = JSON.stringify(chatBody('m'));
    const cases: Array<[string, string, Record<string, string>, string]> = [
      ['malformed', '{"model": "m", "messages": [}', {}, 'invalid_json'],
      ['truncated JSON', full.slice(0, full.length - 7), {}, 'invalid_json'],
      ['text/plain', full, { 'content-type': 'text/plain' }, 'unsupported_media_type'],
      ['form', 'model=m', { 'content-type': 'application/x-www-form-urlencoded' }, 'unsupported_media_type'],
      ['empty', '', {}, 'invalid_json'],
    ];
    for (const [name, body, headers, code] of cases) {
      const res = await chat(h.url, body, { headers });
      expect(res.status, name).toBe(400);
      expect(res.headers['x-should-retry'], name).toBe('false');
      expect(errorOf(res), name).toMatchObject({ type: 'invalid_request_error', code });
    }
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });

  it('a body shorter than its Content-Length (client half-closes) → 400 in the OpenAI error shape, connection closed', async () => {
    const h = await start();
    const text = await rawHttp(
      h.url,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${KEY}\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"model":"m","messages":[`,
      { halfClose: true },
    );
    const res = parseRawResponse(text);
    expect(res.status).toBe(400);
    expect(JSON.parse(res.body)).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });
});

describe('S-02: wrong types and caps', () => {
  it.each([
    ['messages as a string', { messages: 'hello' }, 'messages'],
    ['max_tokens "9"', { max_tokens: '9' }, 'max_tokens'],
    ['stream "yes"', { stream: 'yes' }, 'stream'],
    ['negative max_tokens', { max_tokens: -5 }, 'max_tokens'],
    ['huge max_tokens', { max_tokens: 1e12 }, 'max_tokens'],
    ['n 1000', { n: 1000 }, 'n'],
    ['stream_options without stream (S-17)', { stream_options: { include_usage: true } }, 'stream_options'],
    ['include_usage "x" (S-17)', { stream: true, stream_options: { include_usage: 'x' } }, 'stream_options.include_usage'],
  ])('%s → 400 naming the field in param', async (_name, extra, param) => {
    const h = await start();
    const res = await chat(h.url, chatBody('m', extra));
    expect(res.status).toBe(400);
    const err = errorOf(res);
    expect(err).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request', param });
    expect(err.message).toContain(param);
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });
});

describe('S-03: bodies over server.bodyLimitBytes', () => {
  const limit = 64 * 1024;

  it('with Content-Length → 413 and the connection is closed', async () => {
    const h = await start({ bodyLimitBytes: limit });
    const body = JSON.stringify(chatBody('m', { padding: 'x'.repeat(limit + 1024) }));
    const res = await post(h, body);
    expect(res.statusCode).toBe(413);
    expect(res.headers['connection']).toBe('close');
    const err = (await res.body.json()) as ErrorBody;
    expect(err.error).toMatchObject({ type: 'invalid_request_error', code: 'request_too_large' });
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });

  it('chunked (no Content-Length) → 413 once the limit is crossed, without reading the rest', async () => {
    const h = await start({ bodyLimitBytes: limit });
    let sent = 0;
    async function* endless(): AsyncGenerator<Buffer> {
      // Up to 32 MiB: far more than the server may read before answering.
      for (let i = 0; i < 2048; i++) {
        sent += 16 * 1024;
        yield Buffer.alloc(16 * 1024, 0x61);
      }
    }
    const res = await post(h, Readable.from(endless()));
    expect(res.statusCode).toBe(413);
    expect(((await res.body.json()) as ErrorBody).error.code).toBe('request_too_large');
    expect(sent).toBeLessThan(32 * 1024 * 1024);
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });
});

describe('S-04: hostile JSON', () => {
  it('100k nested brackets → 400 quickly, no stack overflow', async () => {
    const h = await start();
    const body = `{"model":"m","messages":${'['.repeat(100_000)}${']'.repeat(100_000)}}`;
    const t0 = performance.now();
    const res = await chat(h.url, body);
    expect(performance.now() - t0).toBeLessThan(1_000);
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    // Still serving.
    expect((await chat(h.url, chatBody('m'))).status).toBe(200);
  });

  it('__proto__ and constructor.prototype keys → 400; nothing is polluted', async () => {
    const h = await start();
    const bodies = [
      `{"model":"m","messages":[{"role":"user","content":"hi"}],"__proto__":{"polluted":"yes"}}`,
      `{"model":"m","messages":[{"role":"user","content":"hi","__proto__":{"polluted":"yes"}}]}`,
      `{"model":"m","messages":[{"role":"user","content":"hi"}],"constructor":{"prototype":{"polluted":"yes"}}}`,
    ];
    for (const body of bodies) {
      const res = await chat(h.url, body);
      expect(res.status).toBe(400);
      expect(errorOf(res)).toMatchObject({ type: 'invalid_request_error', code: 'invalid_json' });
    }
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });
});

describe('S-06: bad credentials', () => {
  const utf8 = (s: string): string => Buffer.from(s, 'utf8').toString('latin1');
  const cases: Array<[string, string | undefined, string]> = [
    ['missing header', undefined, 'missing_api_key'],
    ['wrong scheme', `Basic ${Buffer.from(`user:${KEY}`).toString('base64')}`, 'invalid_api_key'],
    ['empty token', 'Bearer ', 'invalid_api_key'],
    ['token with spaces', `Bearer ${KEY} extra words`, 'invalid_api_key'],
    ['non-ASCII token', utf8('Bearer sk-ключ-0123456789'), 'invalid_api_key'],
    ['homoglyph of the real key', utf8(`Bearer ${KEY.replace('s', '\u0455')}`), 'invalid_api_key'],
    ['zero-width char in the real key', utf8(`Bearer ${KEY.slice(0, 5)}\u200b${KEY.slice(5)}`), 'invalid_api_key'],
    ['10 KB token', `Bearer sk-${'A'.repeat(10 * 1024)}`, 'invalid_api_key'],
    ['unknown well-formed key', 'Bearer sk-unknown-key-0123456789', 'invalid_api_key'],
  ];

  it.each(cases)('%s → 401 with a generic message that does not echo the token', async (_name, authorization, code) => {
    const h = await start();
    const res = await chat(h.url, chatBody('m'), { key: null, headers: authorization === undefined ? {} : { authorization } });
    expect(res.status).toBe(401);
    expect(res.headers['x-gateway-request-id']).toMatch(UUID);
    const err = errorOf(res);
    expect(err).toMatchObject({ type: 'authentication_error', code, param: null });
    expect(['Incorrect API key provided.', 'You did not provide an API key. Send it as "Authorization: Bearer <key>".']).toContain(err.message);
    const token = authorization?.replace(/^\S+ /, '') ?? '';
    if (token.length > 3) expect(res.text).not.toContain(token.slice(0, 12));
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });
});

describe('S-09: model names', () => {
  it('unknown, path-like and encoded model names → 404 model_not_found; never sent upstream', async () => {
    const h = await start();
    for (const model of ['no-such-model', '../x', '../../admin', '%2F', 'a%2Fb', 'm?x=1', 'm#frag', 'M']) {
      const res = await chat(h.url, chatBody(model));
      expect(res.status, model).toBe(404);
      expect(errorOf(res), model).toMatchObject({ type: 'invalid_request_error', code: 'model_not_found', param: 'model' });
    }
    expect(h.fakes[0]!.received).toHaveLength(0);
  });

  it('a homoglyph of a configured alias is refused (400, param model) and never sent upstream', async () => {
    const h = await start();
    // Cyrillic "м" (U+043C) for "m". Non-ASCII names are refused by validation before routing.
    const res = await chat(h.url, chatBody('\u043c'));
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ type: 'invalid_request_error', param: 'model' });
    expect(h.fakes[0]!.received).toHaveLength(0);
  });

  it('random model names never become metric labels (S-19): series count unchanged, model="unknown"', async () => {
    const h = await start();
    await chat(h.url, chatBody('warm-up-unknown'));
    const before = await scrapeMetrics(h.url);
    const names = Array.from({ length: 20 }, (_, i) => `rnd-${i}-${Math.random().toString(36).slice(2)}`);
    for (const name of names) expect((await chat(h.url, chatBody(name))).status).toBe(404);
    const after = await scrapeMetrics(h.url);
    expect(seriesCount(after, 'gateway_requests_total')).toBe(seriesCount(before, 'gateway_requests_total'));
    expect(seriesCount(after, 'gen_ai_server_request_duration_seconds_count')).toBe(seriesCount(before, 'gen_ai_server_request_duration_seconds_count'));
    expect(metricValue(after, 'gateway_requests_total', { model: 'unknown', status_class: '4xx' })).toBe(21);
    for (const name of names) expect(after).not.toContain(name);
  });
});

describe('S-10: client-chosen upstreams and credentials', () => {
  it.each(['api_base', 'base_url', 'api_key', 'api_version', 'custom_llm_provider', 'extra_headers'])('%s in the body → 400 unsupported_parameter', async (field) => {
    const h = await start();
    const res = await chat(h.url, chatBody('m', { [field]: 'http://169.254.169.254/latest' }));
    expect(res.status).toBe(400);
    expect(errorOf(res)).toMatchObject({ type: 'invalid_request_error', code: 'unsupported_parameter', param: field });
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });
});

describe('S-11/S-12: headers the client should not control', () => {
  it('a client-sent x-gateway-request-id is never echoed; ours is a fresh UUID', async () => {
    const h = await start();
    const res = await chat(h.url, chatBody('m'), { headers: { 'x-gateway-request-id': 'client-chosen-id' } });
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-request-id']).toMatch(UUID);
    expect(res.text).not.toContain('client-chosen-id');
    const other = await chat(h.url, chatBody('m'), { headers: { 'x-gateway-request-id': 'client-chosen-id' } });
    expect(other.headers['x-gateway-request-id']).not.toBe(res.headers['x-gateway-request-id']);
  });

  it('CR inside a header value → 400, no header split, and the gateway keeps serving', async () => {
    const h = await start();
    const text = await rawHttp(
      h.url,
      `POST /v1/chat/completions HTTP/1.1\r\nHost: gw\r\nAuthorization: Bearer ${KEY}\r\nx-gateway-request-id: abc\rset-cookie: injected=1\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}`,
    );
    const res = parseRawResponse(text);
    expect(res.status).toBe(400);
    expect(res.headers.toLowerCase()).not.toContain('set-cookie');
    expect(res.headers).not.toContain('abc');
    expect(JSON.parse(res.body)).toMatchObject({ error: { type: 'invalid_request_error' } });
    expect((await chat(h.url, chatBody('m'))).status).toBe(200);
    expect(h.fakes[0]!.stats.requests).toBe(1);
  });

  it('internal headers are not trusted and not forwarded: tenant comes only from the key', async () => {
    const h = await start();
    const internal = { 'x-gateway-tenant': 'main', 'x-forwarded-for': '10.1.2.3', 'x-should-retry': 'true', 'x-gateway-request-id': 'spoofed' };
    // The limited tenant may not use `other`, whatever x-gateway-tenant says.
    const denied = await chat(h.url, chatBody('other'), { key: LIMITED_KEY, headers: internal });
    expect(denied.status).toBe(403);
    const ok = await chat(h.url, chatBody('m'), { key: LIMITED_KEY, headers: internal });
    expect(ok.status).toBe(200);
    const sent = h.fakes[0]!.received[0]!.headers;
    for (const name of Object.keys(internal)) expect(sent[name]).toBeUndefined();
    expect(sent.authorization).toBeUndefined();
  });
});

describe('tenant policy and routes', () => {
  it('a model outside the tenant allow-list → 403 model_not_allowed, upstream never called', async () => {
    const h = await start();
    const res = await chat(h.url, chatBody('other'), { key: LIMITED_KEY });
    expect(res.status).toBe(403);
    expect(errorOf(res)).toMatchObject({ type: 'permission_error', code: 'model_not_allowed', param: 'model' });
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });

  it('over the request limit → 429 with retry-after, retry-after-ms and x-ratelimit-remaining-requests: 0; never reaches upstream', async () => {
    const h = await start();
    for (let i = 0; i < 2; i++) expect((await chat(h.url, chatBody('m'), { key: TIGHT_KEY })).status).toBe(200);
    const res = await chat(h.url, chatBody('m'), { key: TIGHT_KEY });
    expect(res.status).toBe(429);
    expect(Number(res.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(res.headers['retry-after-ms'])).toBeGreaterThan(0);
    expect(res.headers['x-ratelimit-remaining-requests']).toBe('0');
    expect(res.headers['x-ratelimit-limit-requests']).toBe('2');
    expect(errorOf(res)).toMatchObject({ type: 'rate_limit_error', code: 'rate_limit_exceeded' });
    expect(h.fakes[0]!.stats.requests).toBe(2);
    // Per tenant: the main tenant is unaffected.
    expect((await chat(h.url, chatBody('m'))).status).toBe(200);
    const text = await scrapeMetrics(h.url);
    expect(metricValue(text, 'gateway_ratelimit_decisions_total', { model: 'm', limit: 'requests', result: 'rejected' })).toBe(1);
    expect(metricValue(text, 'gateway_requests_total', { outcome: 'rate_limited', status_class: '4xx' })).toBe(1);
  });

  it('unknown route → 404 OpenAI-shaped; GET on /v1/chat/completions → 405', async () => {
    const h = await start();
    for (const path of ['/v1/nope', '/admin', '/v1/../admin', '//v1/chat/completions']) {
      const res = await get(h.url, path);
      expect(res.status, path).toBe(404);
      expect(errorOf(res), path).toMatchObject({ type: 'not_found_error', code: 'not_found' });
    }
    const wrongMethod = await get(h.url, '/v1/chat/completions');
    expect(wrongMethod.status).toBe(405);
    expect(errorOf(wrongMethod)).toMatchObject({ type: 'invalid_request_error', code: 'method_not_allowed' });
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });
});
