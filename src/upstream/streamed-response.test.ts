import type { ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callContext, postCall, startUpstreamServer, type UpstreamServer } from '../testing/upstream-server.js';
import { sendUpstream, type UpstreamEndpoint } from './send.js';
import { readBodyText, type UpstreamBody } from './streamed-response.js';

let upstream: UpstreamServer;
let endpoint: UpstreamEndpoint;
/** The server side of the open `/held` response, written to by the tests. */
let held: ServerResponse | undefined;
let heldClosed: Promise<void> = Promise.resolve();

beforeAll(async () => {
  upstream = await startUpstreamServer((req, res) => {
    req.resume();
    if (req.url === '/stream') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: 1\n\n');
      setTimeout(() => res.end('data: 2\n\n'), 20);
    } else if (req.url === '/held') {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write('data: first\n\n');
      held = res;
      heldClosed = new Promise((resolve) => res.on('close', resolve));
    } else if (req.url === '/big') {
      res.writeHead(200);
      // Well past undici's pause point, so the upstream waits for the reader.
      res.end('x'.repeat(1024 * 1024));
    } else if (req.url === '/error') res.writeHead(429).end('{"error":{"message":"slow down"}}');
    else if (req.url === '/big-error') res.writeHead(500).end('x'.repeat(4096));
  });
  endpoint = upstream.endpoint;
});

afterAll(() => upstream.close());

const ctx = callContext;
const call = postCall;

async function readAll(body: UpstreamBody): Promise<string> {
  let text = '';
  for (let pieces = await body.read(); pieces !== null; pieces = await body.read()) for (const piece of pieces) text += piece.toString('utf8');
  return text;
}

describe('sendUpstream (a streamed call)', () => {
  it('resolves at the headers; the body reads to its end, and the connection slot is held until then', async () => {
    const reply = await sendUpstream(endpoint, call('/stream'), ctx(new AbortController().signal));
    expect(reply.statusCode).toBe(200);
    expect(reply.headers['content-type']).toBe('text/event-stream');
    expect(endpoint.gate.held).toBe(1);
    expect(await readAll(reply.body)).toBe('data: 1\n\ndata: 2\n\n');
    expect(endpoint.gate.held).toBe(0);
    expect(await reply.body.read()).toBeNull();
  });

  it("cuts the body with the signal's reason when it aborts after the headers: a waiting read rejects, the upstream connection closes, the slot is given back", async () => {
    const controller = new AbortController();
    const reply = await sendUpstream(endpoint, call('/held'), ctx(controller.signal));
    expect(Buffer.concat((await reply.body.read()) ?? []).toString()).toBe('data: first\n\n');
    const waiting = reply.body.read();
    controller.abort(new Error('client gone'));
    await expect(waiting).rejects.toThrow('client gone');
    await heldClosed;
    expect(endpoint.gate.held).toBe(0);
  });

  it('destroy rejects a waiting read with its error and drops the connection', async () => {
    const reply = await sendUpstream(endpoint, call('/held'), ctx(new AbortController().signal));
    await reply.body.read();
    const waiting = reply.body.read();
    reply.body.destroy(new Error('first content too late'));
    await expect(waiting).rejects.toThrow('first content too late');
    await expect(reply.body.read()).rejects.toThrow('first content too late');
    await heldClosed;
    expect(endpoint.gate.held).toBe(0);
  });

  it('pieces that arrive while nobody reads wait for the next read, all of them at once', async () => {
    const reply = await sendUpstream(endpoint, call('/held'), ctx(new AbortController().signal));
    await reply.body.read();
    held?.write('data: a\n\n');
    held?.write('data: b\n\n');
    held?.end('data: c\n\n');
    await heldClosed;
    await new Promise((resolve) => setTimeout(resolve, 20));
    const pieces = await reply.body.read();
    expect(Buffer.concat(pieces ?? []).toString()).toBe('data: a\n\ndata: b\n\ndata: c\n\n');
    expect(await reply.body.read()).toBeNull();
  });

  it('a body larger than undici reads ahead is read whole, in order', async () => {
    const reply = await sendUpstream(endpoint, call('/big'), ctx(new AbortController().signal));
    // Let undici fill what it buffers before the reader starts.
    await new Promise((resolve) => setTimeout(resolve, 50));
    const text = await readAll(reply.body);
    expect(text.length).toBe(1024 * 1024);
    expect(endpoint.gate.held).toBe(0);
  });

  it('rejects at once when aborted before the call; an error status body reads within its limit', async () => {
    const before = new AbortController();
    before.abort(new Error('gone before'));
    await expect(sendUpstream(endpoint, call('/stream'), ctx(before.signal))).rejects.toThrow('gone before');
    const error = await sendUpstream(endpoint, call('/error'), ctx(new AbortController().signal));
    expect(error.statusCode).toBe(429);
    expect(await readBodyText(error.body, 256)).toBe('{"error":{"message":"slow down"}}');
    const big = await sendUpstream(endpoint, call('/big-error'), ctx(new AbortController().signal));
    await expect(readBodyText(big.body, 256)).rejects.toThrow('larger than 256 bytes');
    expect(endpoint.gate.held).toBe(0);
  });
});
