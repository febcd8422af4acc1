import { afterEach, describe, expect, it } from 'vitest';
import { chat, deploymentFor, get, startHarness, type Harness, type HttpResult } from './helpers/harness.js';

/**
 * Our own `x-gateway-*` headers on every route and on errors: `x-gateway-request-id` always;
 * `x-gateway-provider`, `x-gateway-model` and `x-gateway-attempts` whenever a deployment was
 * tried, whether it answered or not.
 */
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function start(): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect: 'openai', name: 'oa', behaviour: { chunks: 3 } }],
    config: ([oa]) => ({
      deployments: { oa: deploymentFor(oa!) },
      models: { m: { targets: [{ deployment: 'oa', model: 'up-model' }] } },
      retry: { maxAttempts: 1 },
    }),
  });
  open.push(h);
  return h;
}

const bodies: Record<string, (stream: boolean) => Record<string, unknown>> = {
  '/v1/chat/completions': (stream) => ({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream }),
  '/v1/completions': (stream) => ({ model: 'm', prompt: 'hi', stream }),
  '/v1/embeddings': () => ({ model: 'm', input: 'hi', encoding_format: 'float' }),
  '/v1/messages': (stream) => ({ model: 'm', max_tokens: 16, messages: [{ role: 'user', content: 'hi' }], stream }),
};
const routes = Object.keys(bodies);
const streamingRoutes = routes.filter((r) => r !== '/v1/embeddings');

function expectRequestIdOnly(res: HttpResult): void {
  expect(res.headers['x-gateway-request-id']).toMatch(UUID);
  expect(res.headers['x-gateway-provider']).toBeUndefined();
  expect(res.headers['x-gateway-model']).toBeUndefined();
}

function expectServedBy(res: HttpResult, attempts: string): void {
  expect(res.headers['x-gateway-request-id']).toMatch(UUID);
  expect(res.headers['x-gateway-provider']).toBe('oa');
  expect(res.headers['x-gateway-model']).toBe('m');
  expect(res.headers['x-gateway-attempts']).toBe(attempts);
}

describe('x-gateway-* response headers on every route', () => {
  it.each(routes)('%s: a success names the request, deployment, alias and attempts', async (path) => {
    const h = await start();
    const res = await chat(h.url, bodies[path]!(false), { path });
    expect(res.status).toBe(200);
    expectServedBy(res, '1');
  });

  it.each(streamingRoutes)('%s: a stream carries them in its response head', async (path) => {
    const h = await start();
    const res = await chat(h.url, bodies[path]!(true), { path });
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expectServedBy(res, '1');
  });

  it.each(routes)('%s: an error after an upstream attempt (F-02: upstream 500) names the deployment tried', async (path) => {
    const h = await start();
    h.fakes[0]!.enqueue({ kind: 'status', status: 500 });
    const res = await chat(h.url, bodies[path]!(false), { path });
    expect(res.status).toBe(502);
    expectServedBy(res, '1');
  });

  it.each(routes)('%s: a passed-on upstream 4xx names the deployment too', async (path) => {
    const h = await start();
    h.fakes[0]!.enqueue({ kind: 'status', status: 400, body: { error: { message: 'scripted', type: 'invalid_request_error', param: null, code: null } } });
    const res = await chat(h.url, bodies[path]!(false), { path });
    expect(res.status).toBe(400);
    expectServedBy(res, '1');
  });

  it.each(routes)('%s: errors before any attempt (401, 404 model) carry the request id only', async (path) => {
    const h = await start();
    const anon = await chat(h.url, bodies[path]!(false), { path, key: null });
    expect(anon.status).toBe(401);
    expectRequestIdOnly(anon);
    const unknown = await chat(h.url, { ...bodies[path]!(false), model: 'nope' }, { path });
    expect(unknown.status).toBe(404);
    expectRequestIdOnly(unknown);
  });

  it('GET routes and edge errors (unknown route, wrong method, malformed JSON) carry the request id', async () => {
    const h = await start();
    for (const path of ['/health', '/ready', '/metrics', '/v1/models', '/v1/models/m', '/v1/nope']) {
      const res = await get(h.url, path);
      expect(res.headers['x-gateway-request-id'], path).toMatch(UUID);
    }
    const wrongMethod = await chat(h.url, undefined, { path: '/v1/messages', method: 'GET' });
    expect(wrongMethod.status).toBe(405);
    expectRequestIdOnly(wrongMethod);
    const malformed = await chat(h.url, '{"model":', { path: '/v1/embeddings' });
    expect(malformed.status).toBe(400);
    expectRequestIdOnly(malformed);
  });
});
