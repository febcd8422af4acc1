import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callContext, postCall, startUpstreamServer, type UpstreamServer } from '../testing/upstream-server.js';
import { PoolGate } from './pool-gate.js';
import { exchangeUpstream, type UpstreamEndpoint } from './send.js';

let upstream: UpstreamServer;
let endpoint: UpstreamEndpoint;
const limits = { maxBytes: 1024, maxErrorBytes: 256 };

beforeAll(async () => {
  upstream = await startUpstreamServer((req, res) => {
    const path = req.url ?? '';
    req.resume();
    if (path === '/ok') res.writeHead(200, { 'content-type': 'application/json', 'x-echo': 'yes' }).end('{"ok":true}');
    else if (path === '/error') res.writeHead(429, { 'retry-after': '3' }).end('{"error":{"message":"slow down"}}');
    else if (path === '/big-error') res.writeHead(500).end('x'.repeat(4096));
    else if (path === '/big-ok') res.writeHead(200).end('x'.repeat(4096));
    else if (path === '/reset-error') {
      res.writeHead(503, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    } else if (path === '/slow') setTimeout(() => res.writeHead(200).end('{}'), 2_000);
  });
  endpoint = upstream.endpoint;
});

afterAll(() => upstream.close());

const ctx = callContext;
const call = postCall;

describe('exchangeUpstream', () => {
  it('reads a success body whole, with status and headers', async () => {
    const reply = await exchangeUpstream(endpoint, call('/ok'), ctx(new AbortController().signal), limits);
    expect(reply).toMatchObject({ statusCode: 200, text: '{"ok":true}' });
    expect(reply.headers['x-echo']).toBe('yes');
  });

  it('reads an error body within its limit, headers included', async () => {
    const reply = await exchangeUpstream(endpoint, call('/error'), ctx(new AbortController().signal), limits);
    expect(reply).toMatchObject({ statusCode: 429, text: '{"error":{"message":"slow down"}}' });
    expect(reply.headers['retry-after']).toBe('3');
  });

  it('an error body over its limit, or cut short, still reports the status, without the body', async () => {
    expect(await exchangeUpstream(endpoint, call('/big-error'), ctx(new AbortController().signal), limits)).toMatchObject({ statusCode: 500, text: undefined });
    expect(await exchangeUpstream(endpoint, call('/reset-error'), ctx(new AbortController().signal), limits)).toMatchObject({ statusCode: 503, text: undefined });
  });

  it('a success body over its limit rejects', async () => {
    await expect(exchangeUpstream(endpoint, call('/big-ok'), ctx(new AbortController().signal), limits)).rejects.toThrow('larger than 1024 bytes');
  });

  it("rejects with the signal's reason when aborted before or during the call", async () => {
    const before = new AbortController();
    before.abort(new Error('gone before'));
    await expect(exchangeUpstream(endpoint, call('/ok'), ctx(before.signal), limits)).rejects.toThrow('gone before');
    const during = new AbortController();
    const pending = exchangeUpstream(endpoint, call('/slow'), ctx(during.signal), limits);
    setTimeout(() => during.abort(new Error('gone during')), 50);
    await expect(pending).rejects.toThrow('gone during');
  });

  it('a call waiting for a connection slot rejects at once when its signal aborts, and the slot count stays right', async () => {
    const gate = new PoolGate({ capacity: 1, maxPerTenant: 1, maxWaiting: 4 });
    const narrow: UpstreamEndpoint = { ...endpoint, gate };
    const holder = new AbortController();
    const holding = exchangeUpstream(narrow, call('/slow'), ctx(holder.signal), limits);
    const waiter = new AbortController();
    const waiting = exchangeUpstream(narrow, call('/ok'), { signal: waiter.signal, tenant: 'other', maxWaitMs: 60_000, priority: 'normal', weight: 1 }, limits);
    expect(gate.waiting).toBe(1);
    waiter.abort(new Error('client left while queued'));
    await expect(waiting).rejects.toThrow('client left while queued');
    expect(gate.waiting).toBe(0);
    holder.abort(new Error('done'));
    await expect(holding).rejects.toThrow('done');
    expect(gate.held).toBe(0);
  });
});
