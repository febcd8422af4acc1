import Anthropic, { AuthenticationError, OverloadedError, RateLimitError } from '@anthropic-ai/sdk';
import Anthropic0137 from 'anthropic-sdk-0137';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
import { AnthropicStreamTranslator } from '../../providers/anthropic/stream.js';
import { SseDecoder } from '../../upstream/sse-decoder.js';
import { fakeStarter } from './dialect-test-kit.js';

const start = fakeStarter('anthropic');

const REPLY = 'one two three four five';
const weather = { name: 'get_weather', description: 'Weather for a city', input_schema: { type: 'object' as const, properties: { city: { type: 'string' }, days: { type: 'integer' } } } };

describe('anthropic fake, checked with both official SDK lines', () => {
  it.each([
    { line: '1.13.0 (Bearer + 2026-10-21)', make: (url: string) => new Anthropic({ baseURL: url, apiKey: 'sk-ant-fake', maxRetries: 0 }), auth: 'authorization', version: '2026-10-21' },
    { line: '0.137.0 (x-api-key + 2023-06-01)', make: (url: string) => new Anthropic0137({ baseURL: url, apiKey: 'sk-ant-fake', maxRetries: 0 }) as unknown as Anthropic, auth: 'x-api-key', version: '2023-06-01' },
  ])('$line: create, stream with finalMessage, forced tool use', async ({ make, auth, version }) => {
    const fake = await start({ apiKey: 'sk-ant-fake', behaviour: { reply: REPLY, chunks: 3 } });
    const client = make(fake.baseUrl);
    const { data, response } = await client.messages.create({ model: 'claude-x', max_tokens: 50, system: 'Be brief.', messages: [{ role: 'user', content: 'Count please' }] }).withResponse();
    expect(data).toMatchObject({ type: 'message', role: 'assistant', model: 'claude-x', content: [{ type: 'text', text: REPLY }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 4, output_tokens: 5, cache_read_input_tokens: 0 } });
    expect(response.headers.get('request-id')).toMatch(/^req_fake_/);
    expect(fake.received[0]?.headers[auth]).toContain('sk-ant-fake');
    expect(fake.received[0]?.headers['anthropic-version']).toBe(version);

    const texts: string[] = [];
    const stream = client.messages.stream({ model: 'claude-x', max_tokens: 50, messages: [{ role: 'user', content: 'Count please' }] }).on('text', (t) => texts.push(t));
    const final = await stream.finalMessage();
    expect(texts.join('')).toBe(REPLY);
    expect(texts.length).toBe(3);
    expect(final).toMatchObject({ content: [{ type: 'text', text: REPLY }], stop_reason: 'end_turn', usage: { input_tokens: 2, output_tokens: 5 } });

    const tool = await client.messages.stream({ model: 'claude-x', max_tokens: 50, tools: [weather], tool_choice: { type: 'any' }, messages: [{ role: 'user', content: 'Weather?' }] }).finalMessage();
    expect(tool.stop_reason).toBe('tool_use');
    expect(tool.content).toEqual([{ type: 'tool_use', id: expect.stringMatching(/^toolu_/), name: 'get_weather', input: { city: 'fake-city', days: 1 } }]);
  });

  it('errors: 401 for a wrong key, 429 with retry-after, 529 overloaded, as the SDK classes', async () => {
    const fake = await start({ apiKey: 'sk-ant-fake' });
    const wrong = new Anthropic({ baseURL: fake.baseUrl, apiKey: 'nope', maxRetries: 0 });
    await expect(wrong.messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(AuthenticationError);
    const client = new Anthropic({ baseURL: fake.baseUrl, apiKey: 'sk-ant-fake', maxRetries: 0 });
    fake.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '7' } }, { kind: 'status', status: 529 });
    const limited = await client.messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as RateLimitError).headers?.get('retry-after')).toBe('7');
    expect((limited as RateLimitError).error).toMatchObject({ type: 'error', error: { type: 'rate_limit_error' } });
    await expect(client.messages.create({ model: 'm', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] })).rejects.toBeInstanceOf(OverloadedError);
  });

  it('an in-stream error event makes the SDK raise', async () => {
    const fake = await start();
    fake.enqueue({ kind: 'error-event', afterChunks: 4 });
    const client = new Anthropic({ baseURL: fake.baseUrl, apiKey: 'k', maxRetries: 0 });
    await expect(client.messages.stream({ model: 'm', max_tokens: 50, messages: [{ role: 'user', content: 'x' }] }).finalMessage()).rejects.toThrow(/scripted/);
  });

  it('validates like the real API: anthropic-version header, max_tokens, roles, unknown models', async () => {
    const fake = await start({ models: ['claude-x'] });
    const post = async (body: unknown, headers: Record<string, string> = { 'anthropic-version': '2023-06-01' }) => {
      const res = await request(`${fake.baseUrl}/v1/messages`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
      return { status: res.statusCode, body: (await res.body.json()) as { error: { type: string; message: string } } };
    };
    const ok = { model: 'claude-x', max_tokens: 5, messages: [{ role: 'user', content: 'x' }] };
    expect((await post(ok, {})).body.error.message).toContain('anthropic-version');
    expect((await post({ ...ok, max_tokens: undefined })).body.error).toEqual({ type: 'invalid_request_error', message: 'max_tokens: Field required' });
    expect((await post({ ...ok, messages: [{ role: 'system', content: 'x' }] })).status).toBe(400);
    expect(await post({ ...ok, model: 'claude-y' })).toEqual({ status: 404, body: expect.objectContaining({ type: 'error', error: { type: 'not_found_error', message: 'model: claude-y' } }) });
  });

  it('count_tokens: both SDK lines count like message usage; the body is validated like the real endpoint', async () => {
    const fake = await start({ apiKey: 'sk-ant-fake', models: ['claude-x'] });
    const params = { model: 'claude-x', system: [{ type: 'text' as const, text: 'a cached system prompt', cache_control: { type: 'ephemeral' as const } }], messages: [{ role: 'user' as const, content: 'hi there you' }], tools: [weather] };
    for (const client of [new Anthropic({ baseURL: fake.baseUrl, apiKey: 'sk-ant-fake', maxRetries: 0 }), new Anthropic0137({ baseURL: fake.baseUrl, apiKey: 'sk-ant-fake', maxRetries: 0 }) as unknown as Anthropic]) {
      expect(await client.messages.countTokens(params)).toEqual({ input_tokens: 7 });
    }
    expect(fake.received.map((r) => r.path)).toEqual(['/v1/messages/count_tokens', '/v1/messages/count_tokens']);
    const post = async (body: unknown, key = 'sk-ant-fake') => {
      const res = await request(`${fake.baseUrl}/v1/messages/count_tokens`, { method: 'POST', headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01', 'x-api-key': key }, body: JSON.stringify(body) });
      return { status: res.statusCode, body: (await res.body.json()) as { error: { type: string; message: string } } };
    };
    const ok = { model: 'claude-x', messages: [{ role: 'user', content: 'x' }] };
    expect((await post(ok)).status).toBe(200);
    expect((await post({ ...ok, max_tokens: 5 })).body.error).toEqual({ type: 'invalid_request_error', message: 'max_tokens: Extra inputs are not permitted' });
    expect((await post({ ...ok, messages: [] })).status).toBe(400);
    expect((await post({ ...ok, model: 'claude-y' })).status).toBe(404);
    expect((await post(ok, 'wrong')).status).toBe(401);
    // Counting generates nothing: not an inference request in the fake's stats.
    expect(fake.stats.requests).toBe(0);
  });

  it('stop sequences, max_tokens cuts and cache_control reads', async () => {
    const fake = await start({ behaviour: { reply: 'alpha beta STOP gamma' } });
    const client = new Anthropic({ baseURL: fake.baseUrl, apiKey: 'k', maxRetries: 0 });
    const stopped = await client.messages.create({ model: 'm', max_tokens: 50, stop_sequences: ['STOP'], messages: [{ role: 'user', content: 'x' }] });
    expect(stopped).toMatchObject({ content: [{ text: 'alpha beta ' }], stop_reason: 'stop_sequence', stop_sequence: 'STOP' });
    const cut = await client.messages.create({ model: 'm', max_tokens: 2, messages: [{ role: 'user', content: 'x' }] });
    expect(cut).toMatchObject({ content: [{ text: 'alpha beta' }], stop_reason: 'max_tokens' });
    const cached = await client.messages.create({
      model: 'm',
      max_tokens: 50,
      system: [{ type: 'text', text: 'a long cached system prompt', cache_control: { type: 'ephemeral' } }],
      messages: [{ role: 'user', content: 'hi there' }],
    });
    expect(cached.usage).toMatchObject({ input_tokens: 2, cache_read_input_tokens: 5, cache_creation_input_tokens: 0 });
  });

  it("the fake's stream decodes through the gateway's own decoder and translator, event names included", async () => {
    const fake = await start({ behaviour: { reply: REPLY, chunks: 2 } });
    const res = await request(`${fake.baseUrl}/v1/messages`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
      body: JSON.stringify({ model: 'm', max_tokens: 50, stream: true, messages: [{ role: 'user', content: 'x' }] }),
    });
    expect(res.headers['content-type']).toBe('text/event-stream; charset=utf-8');
    const decoder = new SseDecoder();
    const events = [];
    for await (const chunk of res.body) events.push(...decoder.push(chunk as Uint8Array));
    expect(events.map((e) => e.event)).toEqual(['message_start', 'content_block_start', 'ping', 'content_block_delta', 'content_block_delta', 'content_block_stop', 'message_delta', 'message_stop']);
    expect(events.every((e) => (JSON.parse(e.data) as { type: string }).type === e.event)).toBe(true);
    const t = new AnthropicStreamTranslator({ id: 'c', created: 1, model: 'm', includeUsage: true, promptTokensEstimate: 0 });
    const text = events.flatMap((e) => t.onEvent(e).chunks).map((c) => c.choices[0]?.delta.content ?? '').join('');
    expect(text).toBe(REPLY);
    expect(t.usage()).toMatchObject({ promptTokens: 1, completionTokens: 5, estimated: false });
  });
});
