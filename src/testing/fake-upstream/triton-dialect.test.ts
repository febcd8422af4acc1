import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { SseDecoder } from '../../upstream/sse-decoder.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { fakeStarter } from './dialect-test-kit.js';

const start = fakeStarter('triton');

function post(url: string, body: unknown): ReturnType<typeof request> {
  return request(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
}

async function sseEvents(body: AsyncIterable<Uint8Array>): Promise<SseEvent[]> {
  const decoder = new SseDecoder();
  const events: SseEvent[] = [];
  for await (const chunk of body) events.push(...decoder.push(chunk));
  return [...events, ...decoder.end()];
}

const generateBody = { text_input: 'What is ML?', max_tokens: 64, bad_words: '', stop_words: '' };

describe('triton fake: generate', () => {
  it('answers generate with model_name, model_version and text_output', async () => {
    const fake = await start();
    expect(fake.baseUrl).toBe(`http://127.0.0.1:${fake.port}`);
    const res = await post(`${fake.baseUrl}/v2/models/ensemble/generate`, generateBody);
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('application/json');
    expect(await res.body.json()).toEqual({
      model_name: 'ensemble',
      model_version: '1',
      text_output: 'Hello from fake-triton. You said: What is ML?',
    });
  });

  it('accepts a version in the path and honours max_tokens as words', async () => {
    const fake = await start({ behaviour: { reply: 'one two three four' } });
    const res = await post(`${fake.baseUrl}/v2/models/ensemble/versions/3/generate`, { text_input: 'x', max_tokens: 2 });
    expect(await res.body.json()).toEqual({ model_name: 'ensemble', model_version: '3', text_output: 'one two' });
  });

  it('streams one delta per piece with no [DONE]', async () => {
    const fake = await start({ behaviour: { chunks: 3, reply: 'alpha beta gamma delta' } });
    const res = await post(`${fake.baseUrl}/v2/models/ensemble/generate_stream`, { ...generateBody, stream: true });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const events = await sseEvents(res.body);
    const payloads = events.map((e) => JSON.parse(e.data) as Record<string, unknown>);
    expect(payloads).toHaveLength(3);
    expect(payloads.every((p) => p['model_name'] === 'ensemble' && p['model_version'] === '1')).toBe(true);
    expect(payloads.map((p) => p['text_output']).join('')).toBe('alpha beta gamma delta');
    expect(events.some((e) => e.data === '[DONE]')).toBe(false);
  });

  it('rejects a missing text_input and an unknown model with {"error": string}', async () => {
    const fake = await start({ models: ['ensemble'] });
    const missing = await post(`${fake.baseUrl}/v2/models/ensemble/generate`, { max_tokens: 4 });
    expect(missing.statusCode).toBe(400);
    expect(typeof ((await missing.body.json()) as { error: unknown }).error).toBe('string');
    const unknown = await post(`${fake.baseUrl}/v2/models/llama/generate_stream`, generateBody);
    expect(unknown.statusCode).toBe(400);
    expect(await unknown.body.json()).toEqual({ error: "Request for unknown model: 'llama' is not found" });
  });
});

describe('triton fake: KServe routes', () => {
  it('answers health with 200 and an empty body', async () => {
    const fake = await start();
    for (const path of ['/v2/health/live', '/v2/health/ready', '/v2/models/ensemble/ready']) {
      const res = await request(`${fake.baseUrl}${path}`);
      expect(res.statusCode).toBe(200);
      expect(await res.body.text()).toBe('');
    }
  });

  it('describes the server and a model', async () => {
    const fake = await start();
    const server = (await (await request(`${fake.baseUrl}/v2`)).body.json()) as { name: string; extensions: string[] };
    expect(server.name).toBe('triton');
    expect(server.extensions).toContain('generate');
    const model = (await (await request(`${fake.baseUrl}/v2/models/ensemble`)).body.json()) as Record<string, unknown>;
    expect(model).toMatchObject({ name: 'ensemble', versions: ['1'], inputs: expect.any(Array), outputs: expect.any(Array) });
  });

  it('answers an unknown route with a string error', async () => {
    const fake = await start();
    const res = await request(`${fake.baseUrl}/v2/nope`);
    expect(res.statusCode).toBe(404);
    expect(await res.body.json()).toEqual({ error: 'Not Found' });
    expect(fake.stats.requests).toBe(0); // only inference routes are counted
    expect(fake.received.map((r) => r.path)).toEqual(['/v2/nope']);
  });
});
