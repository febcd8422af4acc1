import OpenAI from 'openai';
import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { SseDecoder } from '../../upstream/sse-decoder.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { runFakeUpstreamCli } from './cli.js';
import { FakeUpstream, MAX_RECEIVED } from './fake-upstream.js';
import type { FakeUpstreamOptions } from './fake-upstream.js';
import type { FakeDialectName } from './script.js';

const fakes: FakeUpstream[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function start(options: FakeUpstreamOptions): Promise<FakeUpstream> {
  const fake = await FakeUpstream.start(options);
  fakes.push(fake);
  return fake;
}

/** Where and what each dialect's inference request is, so fault tests run for both. */
const calls: Record<FakeDialectName, { url(fake: FakeUpstream, stream: boolean): string; body(stream: boolean): object; streamEvents: number }> = {
  openai: {
    url: (fake) => `${fake.baseUrl}/chat/completions`,
    body: (stream) => ({ model: 'm', messages: [{ role: 'user', content: 'hi' }], stream }),
    streamEvents: 7, // role, 4 pieces, finish, [DONE]
  },
  triton: {
    url: (fake, stream) => `${fake.baseUrl}/v2/models/ensemble/${stream ? 'generate_stream' : 'generate'}`,
    body: (stream) => ({ text_input: 'hi', max_tokens: 16, stream }),
    streamEvents: 4,
  },
  gemini: {
    url: (fake, stream) => `${fake.baseUrl}/models/gemini-2.5-flash:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`,
    body: () => ({ contents: [{ role: 'user', parts: [{ text: 'hi' }] }] }),
    streamEvents: 4,
  },
  ollama: {
    url: (fake) => `${fake.baseUrl}/api/chat`,
    body: (stream) => ({ model: 'llama3.2', messages: [{ role: 'user', content: 'hi' }], stream }),
    streamEvents: 5, // 4 pieces, then the done:true line (NDJSON lines, not SSE events)
  },
  // Bedrock calls must be SigV4-signed, so its fault tests live in bedrock-dialect.test.ts.
  bedrock: {
    url: (fake, stream) => `${fake.baseUrl}/model/m/${stream ? 'converse-stream' : 'converse'}`,
    body: () => ({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] }),
    streamEvents: 8, // messageStart, 4 deltas, contentBlockStop, messageStop, metadata
  },
  anthropic: {
    url: (fake) => `${fake.baseUrl}/v1/messages`,
    body: (stream) => ({ model: 'm', max_tokens: 64, messages: [{ role: 'user', content: 'hi' }], stream }),
    streamEvents: 10, // message_start, block start, ping, 4 deltas, block stop, message_delta, message_stop
  },
};

function call(fake: FakeUpstream, stream: boolean, signal?: AbortSignal): ReturnType<typeof request> {
  const { url, body } = calls[fake.dialect];
  return request(url(fake, stream), {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify(body(stream)),
    ...(signal === undefined ? {} : { signal }),
  });
}

/** Reads SSE events until the body ends or fails; `onEvent` may abort the request. */
async function readEvents(
  body: AsyncIterable<Uint8Array>,
  onEvent: (events: SseEvent[]) => void = () => {},
): Promise<{ events: SseEvent[]; error: unknown }> {
  const decoder = new SseDecoder();
  const events: SseEvent[] = [];
  try {
    for await (const chunk of body) {
      events.push(...decoder.push(chunk));
      onEvent(events);
    }
    return { events, error: undefined };
  } catch (error) {
    return { events, error };
  }
}

async function until(predicate: () => boolean, timeoutMs = 1000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

for (const dialect of ['openai', 'triton', 'anthropic'] as const) {
  describe(`${dialect} fake: faults`, () => {
    it('answers a status fault in the dialect error shape, with its headers, then recovers', async () => {
      const fake = await start({ dialect });
      fake.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '1' } }, { kind: 'status', status: 503 });
      const first = await call(fake, false);
      expect(first.statusCode).toBe(429);
      expect(first.headers['retry-after']).toBe('1');
      const body = await first.body.json();
      if (dialect === 'openai') {
        expect(body).toMatchObject({ error: { type: 'requests', code: 'rate_limit_exceeded', param: null } });
      } else if (dialect === 'anthropic') {
        expect(body).toMatchObject({ type: 'error', error: { type: 'rate_limit_error', message: expect.any(String) } });
      } else {
        expect(body).toEqual({ error: expect.any(String) });
      }
      expect((await call(fake, true)).statusCode).toBe(503);
      expect((await call(fake, false)).statusCode).toBe(200);
      expect(fake.stats).toEqual({ requests: 3, completed: 3, aborted: 0, faulted: 2 });
    });

    it('sends a custom status body verbatim', async () => {
      const fake = await start({ dialect });
      fake.enqueue({ kind: 'status', status: 502, body: '<html>bad gateway</html>' }, { kind: 'status', status: 400, body: { custom: true } });
      const html = await call(fake, false);
      expect([html.statusCode, html.headers['content-type'], await html.body.text()]).toEqual([502, 'text/plain', '<html>bad gateway</html>']);
      expect(await (await call(fake, false)).body.json()).toEqual({ custom: true });
    });

    it('replays recorded bytes verbatim, in pieces, whatever the request asked', async () => {
      const fake = await start({ dialect });
      const recorded = 'data: {"a":"é"}\r\n\r\ndata: [DONE]\n\n';
      fake.enqueue({ kind: 'replay', body: recorded, contentType: 'text/event-stream', pieceBytes: 3 }, { kind: 'replay', body: new Uint8Array([123, 125]), contentType: 'application/json', status: 201 });
      const first = await call(fake, false);
      const pieces: Buffer[] = [];
      for await (const piece of first.body) pieces.push(piece as Buffer);
      expect([first.statusCode, first.headers['content-type'], Buffer.concat(pieces).toString('utf8')]).toEqual([200, 'text/event-stream', recorded]);
      const second = await call(fake, true);
      expect([second.statusCode, await second.body.text()]).toEqual([201, '{}']);
      expect((await call(fake, false)).statusCode).toBe(200);
      expect(fake.stats).toEqual({ requests: 3, completed: 3, aborted: 0, faulted: 2 });
    });

    it('resets the connection before headers', async () => {
      const fake = await start({ dialect });
      fake.enqueue({ kind: 'reset-before-headers' });
      await expect(call(fake, false)).rejects.toThrow();
      expect(fake.stats).toMatchObject({ requests: 1, faulted: 1, aborted: 0, completed: 0 });
    });

    it('resets mid-stream after k chunks', async () => {
      const fake = await start({ dialect });
      fake.enqueue({ kind: 'reset-mid-stream', afterChunks: 2 });
      const res = await call(fake, true);
      expect(res.statusCode).toBe(200);
      const { events, error } = await readEvents(res.body);
      expect(events).toHaveLength(2);
      expect(error).toBeDefined();
      expect(fake.stats.aborted).toBe(0);
    });

    it('cuts a non-stream body in half on reset-mid-stream', async () => {
      const fake = await start({ dialect });
      fake.enqueue({ kind: 'reset-mid-stream', afterChunks: 0 });
      const res = await call(fake, false);
      expect(res.statusCode).toBe(200);
      await expect(res.body.text()).rejects.toThrow();
    });

    it('stalls after k chunks until the client gives up, which counts as an abort', async () => {
      const fake = await start({ dialect });
      fake.enqueue({ kind: 'stall', afterChunks: 1 });
      const controller = new AbortController();
      const res = await call(fake, true, controller.signal);
      const stalled = readEvents(res.body);
      await new Promise((resolve) => setTimeout(resolve, 150));
      controller.abort();
      const { events, error } = await stalled;
      expect(events).toHaveLength(1);
      expect(error).toBeDefined();
      await fake.waitForAborts(1, 1000);
    });

    it('sends an in-band error event after k chunks and ends the response', async () => {
      const fake = await start({ dialect });
      fake.enqueue({ kind: 'error-event', afterChunks: 2 });
      const { events, error } = await readEvents((await call(fake, true)).body);
      expect(error).toBeUndefined();
      expect(events).toHaveLength(3);
      const last = JSON.parse(events[2]?.data ?? '') as { error: unknown };
      if (dialect === 'openai') expect(last.error).toMatchObject({ type: 'server_error', param: null, code: null });
      else if (dialect === 'anthropic') expect([events[2]?.event, last]).toEqual(['error', { type: 'error', error: { type: 'overloaded_error', message: expect.any(String) } }]);
      else expect(typeof last.error).toBe('string');
      expect(events.some((e) => e.data === '[DONE]')).toBe(false);
      await until(() => fake.stats.completed === 1);
    });

    it('answers error-event on a non-stream request with a 500', async () => {
      const fake = await start({ dialect });
      fake.enqueue({ kind: 'error-event', afterChunks: 0 });
      expect((await call(fake, false)).statusCode).toBe(500);
    });

    it('delays an answer by the fault ms', async () => {
      const fake = await start({ dialect });
      fake.enqueue({ kind: 'delay', ms: 150 });
      const started = performance.now();
      expect((await call(fake, false)).statusCode).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(140);
    });

    it('counts a client abort of a hanging request within 1 s', async () => {
      const fake = await start({ dialect });
      fake.enqueue({ kind: 'hang' });
      const controller = new AbortController();
      const pending = call(fake, false, controller.signal);
      await until(() => fake.received.length === 1);
      controller.abort();
      await expect(pending).rejects.toThrow();
      await fake.waitForAborts(1, 1000);
      expect(fake.stats).toMatchObject({ requests: 1, aborted: 1, completed: 0, faulted: 1 });
    });

    it('streams every event with the normal behaviour', async () => {
      const fake = await start({ dialect });
      const { events, error } = await readEvents((await call(fake, true)).body);
      expect(error).toBeUndefined();
      expect(events).toHaveLength(calls[dialect].streamEvents);
    });
  });
}

describe('fake upstream: behaviour', () => {
  it('spaces stream chunks by latency, ttft and interval', async () => {
    const fake = await start({ dialect: 'triton', behaviour: { latencyMs: 50, ttftMs: 50, chunkIntervalMs: 30, chunks: 4 } });
    const started = performance.now();
    const res = await call(fake, true);
    expect(performance.now() - started).toBeGreaterThanOrEqual(45);
    const { events } = await readEvents(res.body);
    expect(events).toHaveLength(4);
    expect(performance.now() - started).toBeGreaterThanOrEqual(50 + 50 + 3 * 30 - 10);
  });

  it('fails the seeded share of requests, the same way for the same seed', async () => {
    const statuses = async (fake: FakeUpstream): Promise<number[]> => {
      const out: number[] = [];
      for (let i = 0; i < 20; i++) {
        const res = await call(fake, false);
        await res.body.dump();
        out.push(res.statusCode);
      }
      return out;
    };
    const a = await statuses(await start({ dialect: 'openai', behaviour: { failureRate: 0.5, seed: 42 } }));
    const b = await statuses(await start({ dialect: 'openai', behaviour: { failureRate: 0.5, seed: 42 } }));
    expect(a).toEqual(b);
    expect(a).toContain(500);
    expect(a).toContain(200);
    const always = await start({ dialect: 'triton', behaviour: { failureRate: 1 } });
    expect(await statuses(always)).toEqual(Array.from({ length: 20 }, () => 500));
    expect(always.stats.faulted).toBe(20);
  });

  it('validates behaviour patches', async () => {
    const fake = await start({ dialect: 'openai' });
    expect(() => fake.setBehaviour({ chunks: 0 })).toThrow(RangeError);
    expect(() => fake.setBehaviour({ failureRate: 2 })).toThrow(RangeError);
    fake.setBehaviour({ reply: 'fixed' });
    fake.setBehaviour({ reply: undefined });
    expect(fake.behaviour.reply).toBeUndefined();
  });
});

describe('fake upstream: lifecycle', () => {
  it('closes promptly while a request hangs and a stream stalls', async () => {
    const fake = await FakeUpstream.start({ dialect: 'openai' });
    fake.enqueue({ kind: 'hang' }, { kind: 'stall', afterChunks: 1 });
    const hanging = call(fake, false);
    const stalled = await call(fake, true);
    const reading = readEvents(stalled.body);
    await until(() => fake.received.length === 2);
    const started = performance.now();
    await fake.close();
    expect(performance.now() - started).toBeLessThan(1000);
    await expect(hanging).rejects.toThrow();
    expect((await reading).error).toBeDefined();
    expect(fake.stats.aborted).toBe(0); // the fake ended them, not the client
    await fake.close(); // idempotent
  });

  it('rejects waitForAborts on timeout', async () => {
    const fake = await start({ dialect: 'triton' });
    await expect(fake.waitForAborts(1, 50)).rejects.toThrow(/aborts/);
  });

  it('keeps only the last MAX_RECEIVED requests and reset() clears everything', async () => {
    const fake = await start({ dialect: 'triton' });
    fake.enqueue({ kind: 'status', status: 500 }, { kind: 'status', status: 500 });
    expect((await call(fake, false)).statusCode).toBe(500);
    const total = MAX_RECEIVED + 5;
    for (let i = 0; i < total; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, total - i) }, async (_, j) => {
          await (await request(`${fake.baseUrl}/v2/health/live?i=${i + j}`)).body.dump();
        }),
      );
    }
    expect(fake.received).toHaveLength(MAX_RECEIVED);
    expect(fake.received[0]?.path).toBe('/v2/health/live');
    fake.reset();
    expect(fake.received).toHaveLength(0);
    expect(fake.queuedFaults).toBe(0);
    expect(fake.stats).toEqual({ requests: 0, completed: 0, aborted: 0, faulted: 0 });
    expect((await call(fake, false)).statusCode).toBe(200);
  });

  it('records method, path, headers and parsed body', async () => {
    const fake = await start({ dialect: 'openai' });
    await (await call(fake, false)).body.dump();
    expect(fake.received[0]).toMatchObject({
      method: 'POST',
      path: '/v1/chat/completions',
      headers: { 'content-type': 'application/json' },
      body: { model: 'm', messages: [{ role: 'user', content: 'hi' }] },
    });
  });

  it('makes the OpenAI SDK raise on an in-band error event', async () => {
    const fake = await start({ dialect: 'openai' });
    fake.enqueue({ kind: 'error-event', afterChunks: 2 });
    const client = new OpenAI({ baseURL: fake.baseUrl, apiKey: 'k', maxRetries: 0 });
    const stream = await client.chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'x' }], stream: true });
    const consume = async (): Promise<void> => {
      for await (const _chunk of stream) {
        // drain
      }
    };
    await expect(consume()).rejects.toBeInstanceOf(OpenAI.APIError);
  });

  it('starts from the CLI entry and prints its base URL', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const fake = await runFakeUpstreamCli({ dialect: 'openai', host: '127.0.0.1', port: 0, behaviour: { chunks: 2 } });
      fakes.push(fake);
      expect(write).toHaveBeenCalledWith(`fake openai upstream listening on ${fake.baseUrl}\n`);
      expect(fake.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/v1$/);
      expect(fake.behaviour.chunks).toBe(2);
    } finally {
      write.mockRestore();
    }
  });
});
