/**
 * One HTTP edge (issue 10 §1): one route table from which 404 and 405 (with `Allow`) follow, one
 * request scope (request id, the key headers of each API surface), one error renderer (JSON,
 * and raw-socket answers to requests Node's parser refuses, with catalog codes for 408 and 431).
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { deploymentFor, dispatcherOption, KEY, parseRawResponse, rawHttp, startHarness, type Harness } from './helpers/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function start(server: Record<string, unknown> = {}): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    config: ([a]) => ({
      server,
      deployments: { a: deploymentFor(a!) },
      models: { m: { targets: [{ deployment: 'a', model: 'x' }] }, 'org:model-v2': { targets: [{ deployment: 'a', model: 'y' }] } },
    }),
  });
  open.push(h);
  return h;
}

async function send(h: Harness, method: string, path: string, headers: Record<string, string> = {}, body?: string) {
  const res = await request(`${h.url}${path}`, { method: method as 'GET', headers, ...(body === undefined ? {} : { body }), ...dispatcherOption(h.url) });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers as Record<string, string>, text, json: () => JSON.parse(text) };
}

describe('one route table', () => {
  it('/v1/models takes the key as x-api-key (the Anthropic SDKs list models that way), as /v1/messages does', async () => {
    const h = await start();
    const list = await send(h, 'GET', '/v1/models', { 'x-api-key': KEY });
    expect(list.status).toBe(200);
    expect(list.json().data.map((m: { id: string }) => m.id).sort()).toEqual(['m', 'org:model-v2']);
    const one = await send(h, 'GET', '/v1/models/m', { 'x-api-key': KEY });
    expect(one.status).toBe(200);
    expect(one.json().id).toBe('m');
    // A wrong key is still refused, whichever header carries it.
    expect((await send(h, 'GET', '/v1/models', { 'x-api-key': 'sk-wrong-0123456789' })).status).toBe(401);
  });

  it('a text/plain POST to /v1/models is 405 with Allow: GET (the method is wrong before the body matters)', async () => {
    const h = await start();
    const res = await send(h, 'POST', '/v1/models', { 'content-type': 'text/plain', authorization: `Bearer ${KEY}` }, 'hello');
    expect(res.status).toBe(405);
    expect(res.headers.allow).toBe('GET');
    expect(res.json().error.code).toBe('method_not_allowed');
    expect(res.headers['x-gateway-request-id']).toMatch(UUID);
  });

  it('405 carries Allow on every known path; 404 on unknown ones; both have a request id', async () => {
    const h = await start();
    for (const [path, allow] of [
      ['/v1/chat/completions', 'POST'],
      ['/v1/messages', 'POST'],
      ['/health', 'GET'],
      ['/v1/models/m', 'GET'],
    ] as const) {
      const res = await send(h, 'DELETE', path, { authorization: `Bearer ${KEY}` });
      expect(res.status, path).toBe(405);
      expect(res.headers.allow, path).toBe(allow);
      expect(res.headers['x-gateway-request-id'], path).toMatch(UUID);
    }
    const missing = await send(h, 'GET', '/v2/nothing');
    expect(missing.status).toBe(404);
    expect(missing.json().error.code).toBe('not_found');
    expect(missing.headers['x-gateway-request-id']).toMatch(UUID);
  });

  it('a path parameter is URL-decoded (/v1/models/{model})', async () => {
    const h = await start();
    const res = await send(h, 'GET', `/v1/models/${encodeURIComponent('org:model-v2')}`, { authorization: `Bearer ${KEY}` });
    expect(res.status).toBe(200);
    expect(res.json().id).toBe('org:model-v2');
  });

  it('a query string does not change the route', async () => {
    const h = await start();
    expect((await send(h, 'GET', '/health?probe=1')).status).toBe(200);
  });
});

describe('raw-socket answers use catalog codes', () => {
  it('headers over server.maxHeaderBytes: 431 headers_too_large, connection closed', async () => {
    const h = await start({ maxHeaderBytes: 2048 });
    const raw = await rawHttp(h.url, `GET /health HTTP/1.1\r\nHost: x\r\nx-big: ${'a'.repeat(4096)}\r\n\r\n`);
    const res = parseRawResponse(raw);
    expect(res.status).toBe(431);
    expect(JSON.parse(res.body).error.code).toBe('headers_too_large');
    expect(res.headers.toLowerCase()).toContain('connection: close');
  });
});
