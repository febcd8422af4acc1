/**
 * Attack on hedged streams read through StreamedResponse (issue 17), over real sockets, with
 * each deployment allowed one connection (maxConnections: 1): the loser of a hedge must give
 * its connection slot back whether it lost before its headers arrived (the call is cut while
 * undici waits for them) or after committing too (both first tokens in the same instant: the
 * loser's body is cut). Afterwards each deployment serves a stream again (a leaked slot would
 * refuse it as saturated), and every request ends in one outcome.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestFinishedEvent } from '../../src/observability/events.js';
import { chat, chatBody, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness | undefined;
const servers: Server[] = [];
afterEach(async () => {
  await h?.close();
  h = undefined;
  for (const s of servers.splice(0)) {
    s.closeAllConnections();
    await new Promise((resolve) => s.close(resolve));
  }
});

const chunk = (delta: Record<string, unknown>, finish: string | null = null): string => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'x', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
const rest = (text: string): string => `${chunk({ content: text })}${chunk({}, 'stop')}data: [DONE]\n\n`;

type Behaviour = (res: ServerResponse) => void;

/** An upstream whose first call behaves as `first` (later ones answer at once); `closed` resolves when that first call's connection closes. */
async function upstream(name: string, first: Behaviour): Promise<{ url: string; closed: Promise<void> }> {
  let calls = 0;
  let closed!: () => void;
  const done = new Promise<void>((resolve) => (closed = resolve));
  const server = createServer((req: IncomingMessage, res) => {
    calls++;
    req.resume();
    const n = calls;
    req.on('end', () => {
      if (n === 1) {
        res.on('close', closed);
        first(res);
      } else res.writeHead(200, { 'content-type': 'text/event-stream' }).end(`${chunk({ role: 'assistant', content: '' })}${rest(name)}`);
    });
  });
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, closed: done };
}

async function start(slow: Behaviour, fast: Behaviour): Promise<{ harness: Harness; slowClosed: Promise<void>; fastClosed: Promise<void>; finished: RequestFinishedEvent[] }> {
  const a = await upstream('slow', slow);
  const b = await upstream('fast', fast);
  const finished: RequestFinishedEvent[] = [];
  const one = { maxConnections: 1, tenantConnectionPercent: 100, timeouts: { poolQueueMs: 200 } };
  h = await startHarness({
    eventSinks: [{ requestFinished: (e) => finished.push(e) }],
    config: () => ({
      retry: { maxAttempts: 1 },
      deployments: { slow: { provider: 'vllm', baseUrl: a.url, ...one }, fast: { provider: 'vllm', baseUrl: b.url, ...one } },
      models: {
        m: { strategy: 'priority', hedge: { afterMs: 150, maxPercent: 100 }, targets: [{ deployment: 'slow', model: 'x', priority: 0 }, { deployment: 'fast', model: 'y', priority: 1 }] },
        slowOnly: { targets: [{ deployment: 'slow', model: 'x' }] },
        fastOnly: { targets: [{ deployment: 'fast', model: 'y' }] },
      },
    }),
  });
  return { harness: h, slowClosed: a.closed, fastClosed: b.closed, finished };
}

/** Each deployment serves a stream again: its one slot was given back. */
async function bothFree(harness: Harness): Promise<void> {
  for (const model of ['slowOnly', 'fastOnly']) {
    const res = await chat(harness.url, chatBody(model, { stream: true }), { signal: AbortSignal.timeout(10_000) });
    expect(res.status, `${model}: ${res.text}`).toBe(200);
    expect(res.events().at(-1)).toBe('[DONE]');
  }
}

describe('attack: hedged streams and the connection slots', () => {
  it('the first attempt answers while the hedge still waits for its headers: the hedge is cut before them and its slot given back', async () => {
    const { harness, fastClosed, finished } = await start(
      (res) => {
        // Headers and role at once; content after the hedge started.
        res.writeHead(200, { 'content-type': 'text/event-stream' });
        res.write(chunk({ role: 'assistant', content: '' }));
        setTimeout(() => res.end(rest('slow')), 400);
      },
      // The hedge's upstream never answers: no headers.
      () => undefined,
    );
    const res = await chat(harness.url, chatBody('m', { stream: true }), { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('slow');
    await fastClosed;
    await expect.poll(() => finished.length).toBe(1);
    expect(finished[0]).toMatchObject({ outcome: 'success', deployment: 'slow' });
    await bothFree(harness);
    expect(finished.map((e) => e.outcome)).toEqual(['success', 'success', 'success']);
  });

  it('both commit in the same instant: the loser\'s body is cut, both slots are given back, one outcome', async () => {
    const at = Date.now() + 500;
    const both: Behaviour = (res) => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk({ role: 'assistant', content: '' }));
      // The first token at the same wall-clock instant on both; the body is then held open.
      setTimeout(() => res.write(chunk({ content: 'token' })), Math.max(0, at - Date.now()));
      setTimeout(() => res.end(rest('end')), Math.max(0, at - Date.now()) + 200);
    };
    const { harness, finished } = await start(both, both);
    const res = await chat(harness.url, chatBody('m', { stream: true }), { signal: AbortSignal.timeout(10_000) });
    expect(res.status).toBe(200);
    expect(res.events().at(-1)).toBe('[DONE]');
    await expect.poll(() => finished.length).toBe(1);
    expect(finished[0]?.outcome).toBe('success');
    await bothFree(harness);
    expect(finished.map((e) => e.outcome)).toEqual(['success', 'success', 'success']);
  });
});
