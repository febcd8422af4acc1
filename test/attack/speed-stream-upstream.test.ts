/**
 * Attack on the streamed upstream body read through an undici dispatch handler
 * (StreamedResponse, issue 17), over real sockets, with a hostile or broken upstream and a
 * hostile client: a client that stops reading (the upstream must be held back, not buffered),
 * a client that leaves before the upstream's headers, an upstream that sends headers and then
 * nothing, one that resets in the middle of an event, and one that never ends its body after
 * [DONE]. Each time: the request's one recorded outcome, and the deployment's only connection
 * slot (maxConnections: 1) given back, which the next request proves.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { connect } from 'node:net';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { chatBody, dispatcherOption, KEY, parseMetrics, sseData, startHarness, waitUntil, type Harness } from '../helpers/harness.js';

let h: Harness | undefined;
let server: Server | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  server?.closeAllConnections();
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

const chunk = (delta: Record<string, unknown>, finish: string | null = null): string => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'x', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const whole = `${chunk({ role: 'assistant', content: '' })}${chunk({ content: 'ok' })}${chunk({}, 'stop')}data: [DONE]\n\n`;

/** Resolves when `res` drains or closes, leaving no listener behind. */
function drainOrClose(res: ServerResponse): Promise<void> {
  return new Promise((resolve) => {
    const done = (): void => {
      res.off('drain', done).off('close', done);
      resolve();
    };
    res.on('drain', done).on('close', done);
  });
}

type Behaviour = (req: IncomingMessage, res: ServerResponse) => void;

/** An upstream whose first request behaves as `first`, later ones answer a whole short stream. */
async function start(first: Behaviour, timeouts: Record<string, number> = {}, maxAttempts = 1): Promise<{ harness: Harness; upstreamClosed: Promise<void> }> {
  let calls = 0;
  let closed!: () => void;
  const upstreamClosed = new Promise<void>((resolve) => (closed = resolve));
  server = createServer((req, res) => {
    calls++;
    req.resume();
    if (calls === 1) {
      res.on('close', closed);
      req.on('end', () => first(req, res));
    } else req.on('end', () => res.writeHead(200, { 'content-type': 'text/event-stream' }).end(whole));
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  h = await startHarness({
    config: () => ({
      retry: { maxAttempts },
      timeouts: { totalMs: 20_000, ...timeouts },
      deployments: { d: { provider: 'vllm', baseUrl: url, maxConnections: 1, tenantConnectionPercent: 100, timeouts: { poolQueueMs: 200 } } },
      models: { m: { targets: [{ deployment: 'd', model: 'x' }] } },
    }),
  });
  return { harness: h, upstreamClosed };
}

async function streamChat(harness: Harness, signal?: AbortSignal): Promise<{ status: number; text: string }> {
  const res = await request(`${harness.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
    body: JSON.stringify(chatBody('m', { stream: true })),
    ...(signal ? { signal } : {}),
    ...dispatcherOption(harness.url),
  });
  return { status: res.statusCode, text: await res.body.text() };
}

async function outcomes(harness: Harness): Promise<Array<[string | undefined, number]>> {
  return parseMetrics(await harness.gateway.metrics.text())
    .filter((s) => s.name === 'gateway_requests_total')
    .map((s) => [s.labels.outcome, s.value]);
}

/** Waits until the request's outcome is recorded (the stream's end is seen after the client's). */
async function recorded(harness: Harness): Promise<void> {
  for (let i = 0; i < 200 && (await outcomes(harness)).length === 0; i++) await new Promise((resolve) => setTimeout(resolve, 25));
}

/** The only connection slot is free again: a second stream is served (not refused as saturated). */
async function slotFree(harness: Harness): Promise<void> {
  const next = await streamChat(harness);
  expect(next.status).toBe(200);
  expect(sseData(next.text).at(-1)).toBe('[DONE]');
}

/** The request ended with this one recorded outcome, and its only connection slot is free again. */
async function endedAs(harness: Harness, outcome: string): Promise<void> {
  await recorded(harness);
  expect(await outcomes(harness)).toEqual([[outcome, 1]]);
  await slotFree(harness);
}

describe('attack: the streamed upstream body (StreamedResponse) with hostile peers', () => {
  it('a client that stops reading holds the upstream back (bounded buffering), then its disconnect frees the slot', async () => {
    let written = 0;
    const piece = chunk({ content: 'y'.repeat(16 * 1024) });
    const { harness, upstreamClosed } = await start(async (_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk({ role: 'assistant', content: '' }));
      // 200 MB if nobody held it back.
      for (let i = 0; i < 12_800 && !res.destroyed; i++) {
        written += piece.length;
        if (!res.write(piece)) await drainOrClose(res);
      }
      res.end();
    });
    const body = JSON.stringify(chatBody('m', { stream: true }));
    const { port } = new URL(harness.url);
    const socket = connect(Number(port), '127.0.0.1');
    await new Promise((resolve) => socket.once('connect', resolve));
    socket.write(`POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\nauthorization: Bearer ${KEY}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n\r\n${body}`);
    // Read the first bytes, then never again.
    await new Promise((resolve) => socket.once('data', resolve));
    socket.pause();
    await waitUntil(() => written > 0);
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    const settled = written;
    await new Promise((resolve) => setTimeout(resolve, 500));
    // Socket buffers on three hops and undici's 64 KB: a few MB at most, not the 200 MB offered.
    expect(settled).toBeLessThan(32 * 1024 * 1024);
    expect(written - settled).toBeLessThan(4 * 1024 * 1024);
    socket.destroy();
    await upstreamClosed;
    await recorded(harness);
    expect(await outcomes(harness)).toEqual([['client_disconnect', 1]]);
    await slotFree(harness);
  });

  it('a client that leaves before the upstream answers: the upstream call is cut, the slot given back, one client_disconnect', async () => {
    let arrived!: () => void;
    const reached = new Promise<void>((resolve) => (arrived = resolve));
    const { harness, upstreamClosed } = await start(() => arrived());
    const controller = new AbortController();
    const pending = streamChat(harness, controller.signal).catch((err: unknown) => err);
    await reached;
    controller.abort();
    await pending;
    await upstreamClosed;
    await recorded(harness);
    expect(await outcomes(harness)).toEqual([['client_disconnect', 1]]);
    await slotFree(harness);
  });

  it('headers then nothing: the first-content timeout fails the stream before it is committed (504), the upstream call is cut', async () => {
    const { harness, upstreamClosed } = await start((_req, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders(), { firstContentMs: 300 });
    const started = Date.now();
    const res = await streamChat(harness);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(res.status).toBe(504);
    expect(JSON.parse(res.text).error.code).toBeDefined();
    await upstreamClosed;
    expect(await outcomes(harness)).toEqual([['timeout', 1]]);
    await slotFree(harness);
  });

  it('headers then nothing, retried on the same one-connection deployment: the cut attempt\'s slot is free for the retry', async () => {
    const { harness, upstreamClosed } = await start((_req, res) => res.writeHead(200, { 'content-type': 'text/event-stream' }).flushHeaders(), { firstContentMs: 300 }, 2);
    const res = await streamChat(harness);
    expect(res.status).toBe(200);
    expect(sseData(res.text).at(-1)).toBe('[DONE]');
    await upstreamClosed;
    expect(await outcomes(harness)).toEqual([['success', 1]]);
  });

  it('a reset in the middle of an event after the commit: one in-band error, outcome upstream_error, slot given back', async () => {
    const { harness } = await start((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`${chunk({ role: 'assistant', content: '' })}${chunk({ content: 'first' })}`);
      // Half an event, then the connection is reset.
      res.write(chunk({ content: 'second' }).slice(0, 40), () => setTimeout(() => res.socket?.resetAndDestroy(), 20));
    });
    const res = await streamChat(harness);
    expect(res.status).toBe(200);
    const events = sseData(res.text);
    expect(events.filter((e) => e.includes('"error"'))).toHaveLength(1);
    expect(events).not.toContain('[DONE]');
    await endedAs(harness, 'upstream_error');
  });

  it('content, then a stall past the idle timeout after the commit: one in-band error, outcome timeout, the upstream call cut', async () => {
    const { harness, upstreamClosed } = await start((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(`${chunk({ role: 'assistant', content: '' })}${chunk({ content: 'first' })}`);
    }, { idleMs: 400 });
    const started = Date.now();
    const res = await streamChat(harness);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(res.status).toBe(200);
    const events = sseData(res.text);
    expect(events.filter((e) => e.includes('"error"'))).toHaveLength(1);
    await upstreamClosed;
    await endedAs(harness, 'timeout');
  });

  it('an error status whose body never ends: the idle timeout ends the wait, the status is still reported, the slot given back', async () => {
    const { harness, upstreamClosed } = await start((_req, res) => {
      res.writeHead(503, { 'content-type': 'application/json' });
      res.write('{"error":{"message":"over');
    }, { idleMs: 400 });
    const started = Date.now();
    const res = await streamChat(harness);
    expect(Date.now() - started).toBeLessThan(3_000);
    expect(res.status).toBeGreaterThanOrEqual(500);
    await upstreamClosed;
    expect(await outcomes(harness)).toHaveLength(1);
    await slotFree(harness);
  });

  it('an event the translator throws on, before and after the commit, with the body still open: outcome upstream_error, the body cut, slot given back', async () => {
    for (const before of [true, false]) {
      const { harness, upstreamClosed } = await start((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(`${chunk({ role: 'assistant', content: '' })}${before ? '' : chunk({ content: 'first' })}`);
        // A separate packet: after the commit when content came first.
        setTimeout(() => res.write('data: {"choices":[{"delta":\n\n'), 100);
      });
      const res = await streamChat(harness);
      if (before) expect(res.status).toBeGreaterThanOrEqual(500);
      else expect(sseData(res.text).filter((e) => e.includes('"error"'))).toHaveLength(1);
      await upstreamClosed;
      await endedAs(harness, 'upstream_error');
      await h?.close();
      h = undefined;
      server?.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
      server = undefined;
    }
  });

  it('[DONE] and then a body that never ends (or floods): the client is served at once, the slot is given back', async () => {
    for (const after of ['hold', 'flood'] as const) {
      const { harness, upstreamClosed } = await start((_req, res) => {
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(whole);
        if (after === 'flood') {
          const junk = `: ${'z'.repeat(8 * 1024)}\n\n`;
          const pump = (): void => {
            while (!res.destroyed && res.write(junk));
            if (!res.destroyed) res.once('drain', pump);
          };
          pump();
        }
      });
      const started = Date.now();
      const res = await streamChat(harness);
      expect(Date.now() - started).toBeLessThan(1_000);
      expect(sseData(res.text).at(-1)).toBe('[DONE]');
      // The drain is bounded (1 s, 64 KB): the connection is dropped, not held.
      await upstreamClosed;
      expect(await outcomes(harness)).toEqual([['success', 1]]);
      await slotFree(harness);
      await h?.close();
      h = undefined;
      server?.closeAllConnections();
      await new Promise((resolve) => server!.close(resolve));
      server = undefined;
    }
  });
});
