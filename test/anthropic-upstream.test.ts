/**
 * The gateway in front of the fake Anthropic upstream, driven by the official `openai` client:
 * the OpenAI ↔ Anthropic translation over real sockets, plus stream faults (F-12, F-14) and
 * Anthropic's 429/529 answers.
 */
import OpenAI, { APIError, BadRequestError, InternalServerError, RateLimitError } from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { chat, chatBody, deploymentFor, KEY, metric, startHarness, type Harness } from './helpers/harness.js';

const REPLY = 'one two three four five six';
const PROVIDER_KEY = 'sk-ant-provider-key-0123456789';
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

type Json = Record<string, unknown>;

async function setup(options: { fakes?: number; deployment?: Json; target?: Json; extra?: Json } = {}): Promise<{ h: Harness; client: OpenAI }> {
  const names = ['a', 'b'].slice(0, options.fakes ?? 1);
  const h = await startHarness({
    fakes: names.map((name) => ({ dialect: 'anthropic' as const, name, apiKey: PROVIDER_KEY, behaviour: { reply: REPLY, chunks: 3 } })),
    env: { ANTHROPIC_KEY: PROVIDER_KEY },
    config: (fakes) => ({
      deployments: Object.fromEntries(names.map((name, i) => [name, deploymentFor(fakes[i]!, { apiKey: '${env:ANTHROPIC_KEY}', ...options.deployment })])),
      models: { claude: { targets: names.map((deployment) => ({ deployment, model: 'claude-sonnet-4-5', defaultMaxTokens: 256, ...options.target })) } },
      ...options.extra,
    }),
  });
  open.push(h);
  return { h, client: new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 10_000 }) };
}

const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: 'Count to six.' },
];
const weatherTool = {
  type: 'function' as const,
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } },
};

describe('openai client → gateway → Anthropic (fake)', () => {
  it('plain completion: translated both ways, x-api-key + 2023-06-01 upstream, usage normalised', async () => {
    const { h, client } = await setup();
    const { data, response } = await client.chat.completions.create({ model: 'claude', messages }).withResponse();
    expect(data).toMatchObject({ object: 'chat.completion', model: 'claude', choices: [{ index: 0, message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' }] });
    // Words: "Be brief." + "Count to six." = 5 prompt tokens; six words out.
    expect(data.usage).toMatchObject({ prompt_tokens: 5, completion_tokens: 6, total_tokens: 11, prompt_tokens_details: { cached_tokens: 0 } });
    expect(response.headers.get('x-gateway-provider')).toBe('a');
    expect(await metric(h.url, 'gen_ai_client_token_usage_sum', { gen_ai_provider_name: 'anthropic', gen_ai_token_type: 'input' })).toBe(5);
    const sent = h.fakes[0]!.received[0]!;
    expect(sent.path).toBe('/v1/messages');
    expect(sent.headers['x-api-key']).toBe(PROVIDER_KEY);
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.headers['anthropic-version']).toBe('2023-06-01');
    // No max_tokens from the client: the target's configured default is sent, visibly.
    expect(sent.body).toEqual({ model: 'claude-sonnet-4-5', max_tokens: 256, system: 'Be brief.', messages: [{ role: 'user', content: 'Count to six.' }] });
  });

  it('apiVersion 2026-10-21 switches the upstream call to Bearer auth', async () => {
    const { h, client } = await setup({ deployment: { apiVersion: '2026-10-21' } });
    await client.chat.completions.create({ model: 'claude', messages });
    const sent = h.fakes[0]!.received[0]!;
    expect(sent.headers.authorization).toBe(`Bearer ${PROVIDER_KEY}`);
    expect(sent.headers['x-api-key']).toBeUndefined();
    expect(sent.headers['anthropic-version']).toBe('2026-10-21');
  });

  it('streamed, with usage in the stream: role chunk, content, finish, usage chunk, [DONE]', async () => {
    const { client } = await setup();
    const stream = await client.chat.completions.create({ model: 'claude', messages, stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.ChatCompletionChunk[] = [];
    for await (const c of stream) chunks.push(c);
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: 'assistant' });
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(REPLY);
    expect(chunks.filter((c) => c.choices[0]?.finish_reason).map((c) => c.choices[0]?.finish_reason)).toEqual(['stop']);
    expect(chunks.at(-1)).toMatchObject({ choices: [], usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 } });
    expect(chunks.every((c) => c.model === 'claude' && c.id === chunks[0]?.id)).toBe(true);
  });

  it('tool calls, plain and streamed (finalChatCompletion reassembles the input_json_delta fragments)', async () => {
    const { h, client } = await setup();
    const plain = await client.chat.completions.create({ model: 'claude', messages, tools: [weatherTool], tool_choice: 'required' });
    expect(plain.choices[0]).toMatchObject({ finish_reason: 'tool_calls', message: { content: null, tool_calls: [{ type: 'function', id: expect.stringMatching(/^toolu_/), function: { name: 'get_weather', arguments: '{"city":"fake-city"}' } }] } });
    expect(h.fakes[0]!.received[0]!.body).toMatchObject({ tools: [{ name: 'get_weather', input_schema: weatherTool.function.parameters }], tool_choice: { type: 'any' } });

    const runner = client.chat.completions.stream({ model: 'claude', messages, tools: [weatherTool], tool_choice: { type: 'function', function: { name: 'get_weather' } } });
    const final = await runner.finalChatCompletion();
    expect(final.choices[0]?.finish_reason).toBe('tool_calls');
    expect(final.choices[0]?.message.tool_calls?.[0]).toMatchObject({ function: { name: 'get_weather', arguments: '{"city":"fake-city"}' } });

    // The tool result goes back as a tool_result block in a user turn.
    const call = plain.choices[0]!.message.tool_calls![0]!;
    await client.chat.completions.create({ model: 'claude', messages: [...messages, plain.choices[0]!.message, { role: 'tool', tool_call_id: call.id, content: '14 degrees' }] });
    expect(h.fakes[0]!.received.at(-1)!.body).toMatchObject({
      messages: [
        { role: 'user', content: 'Count to six.' },
        { role: 'assistant', content: [{ type: 'tool_use', id: call.id, name: 'get_weather', input: { city: 'fake-city' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: call.id, content: '14 degrees' }] },
      ],
    });
  });

  it('structured output: parse() with a zod schema goes out as output_config.format and comes back parsed', async () => {
    const { h, client } = await setup();
    const Weather = z.object({ city: z.string(), celsius: z.number(), sunny: z.boolean() });
    const res = await client.chat.completions.parse({ model: 'claude', messages, response_format: zodResponseFormat(Weather, 'weather') });
    expect(res.choices[0]?.message.parsed).toEqual({ city: 'fake-city', celsius: 1, sunny: true });
    expect(h.fakes[0]!.received[0]!.body).toMatchObject({ output_config: { format: { type: 'json_schema', schema: { type: 'object', properties: { city: { type: 'string' } } } } } });
  });

  it('images: a data URL reaches Anthropic as a base64 source, an https URL as a url source', async () => {
    // The fake is not api.anthropic.com, so remote media must be allowed explicitly (issue 9 §7).
    const { h, client } = await setup({ deployment: { allowRemoteMedia: true } });
    await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: [
        { type: 'text', text: 'Compare these.' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        { type: 'image_url', image_url: { url: 'https://example.com/b.jpg' } },
      ] }],
    });
    expect(h.fakes[0]!.received[0]!.body).toMatchObject({ messages: [{ role: 'user', content: [
      { type: 'text', text: 'Compare these.' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/b.jpg' } },
    ] }] });
  });

  it('parameters Anthropic cannot carry → 400 naming them; no max_tokens and no configured default → 400', async () => {
    const { h, client } = await setup({ target: { defaultMaxTokens: undefined } });
    const logprobs = await client.chat.completions.create({ model: 'claude', messages, logprobs: true, max_tokens: 10 }).catch((e: unknown) => e);
    expect(logprobs).toBeInstanceOf(BadRequestError);
    expect((logprobs as BadRequestError).param).toBe('logprobs');
    const n = await client.chat.completions.create({ model: 'claude', messages, n: 2, max_tokens: 10 }).catch((e: unknown) => e);
    expect((n as BadRequestError).param).toBe('n');
    const noMax = await client.chat.completions.create({ model: 'claude', messages }).catch((e: unknown) => e);
    expect(noMax).toBeInstanceOf(BadRequestError);
    expect((noMax as BadRequestError).param).toBe('max_tokens');
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });

  it('embeddings and legacy completions: Anthropic has neither → 400 naming the provider, nothing sent', async () => {
    const { h, client } = await setup();
    const emb = await client.embeddings.create({ model: 'claude', input: 'hi' }).catch((e: unknown) => e);
    expect(emb).toBeInstanceOf(BadRequestError);
    expect((emb as BadRequestError).message).toContain("'anthropic'");
    const legacy = await client.completions.create({ model: 'claude', prompt: 'hi' }).catch((e: unknown) => e);
    expect(legacy).toBeInstanceOf(BadRequestError);
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });

  it('provider 529 on every attempt → 503 upstream_overloaded with its Retry-After; 429 → 429', async () => {
    const { h, client } = await setup({ extra: { retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 2 } } });
    h.fakes[0]!.enqueue({ kind: 'status', status: 529, headers: { 'retry-after': '2' } }, { kind: 'status', status: 529, headers: { 'retry-after': '2' } });
    const overloaded = await client.chat.completions.create({ model: 'claude', messages }).catch((e: unknown) => e);
    expect(overloaded).toBeInstanceOf(InternalServerError);
    expect((overloaded as APIError).status).toBe(503);
    expect((overloaded as APIError).code).toBe('upstream_overloaded');
    expect((overloaded as APIError).headers?.get('retry-after')).toBe('2');
    expect(h.fakes[0]!.stats.requests).toBe(2);

    h.fakes[0]!.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '120' } });
    const limited = await client.chat.completions.create({ model: 'claude', messages }).catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect((limited as APIError).message).toContain('rate limit');
  });

  it('S-18: an Anthropic error that echoes the provider key reaches the client scrubbed, status and type kept', async () => {
    const { h, client } = await setup();
    h.fakes[0]!.enqueue({ kind: 'status', status: 400, body: { type: 'error', error: { type: 'invalid_request_error', message: `prompt too long for key ${PROVIDER_KEY}` } } });
    const err = await client.chat.completions.create({ model: 'claude', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as APIError).message).toContain('prompt too long');
    expect(JSON.stringify((err as APIError).error)).not.toContain(PROVIDER_KEY);
    expect((err as APIError).type).toBe('invalid_request_error');
  });

  it('529 then 200 → retried, 200', async () => {
    const { h, client } = await setup();
    h.fakes[0]!.enqueue({ kind: 'status', status: 529 });
    const { response } = await client.chat.completions.create({ model: 'claude', messages }).withResponse();
    expect(response.headers.get('x-gateway-attempts')).toBe('2');
    expect(h.fakes[0]!.stats.requests).toBe(2);
  });

  it('F-12: a reset after the first content delta → the client sees the content, then one error event and no [DONE]', async () => {
    const { h } = await setup();
    // Chunks: message_start, block start, ping, delta 1, (cut).
    h.fakes[0]!.enqueue({ kind: 'reset-mid-stream', afterChunks: 4 });
    const res = await chat(h.url, chatBody('claude', { stream: true }));
    expect(res.status).toBe(200);
    const events = res.events();
    expect(events).not.toContain('[DONE]');
    const parsed = events.map((e) => JSON.parse(e) as Json);
    expect(parsed.filter((p) => 'error' in p)).toEqual([{ error: { message: expect.stringContaining("'a'"), type: 'server_error', param: null, code: 'upstream_error' } }]);
    expect(parsed.at(-1)).toHaveProperty('error');
    expect(parsed.filter((p) => !('error' in p)).map((p) => ((p.choices as Json[])[0]?.delta as Json).content ?? '').join('')).toBe('one two ');
    expect(h.fakes[0]!.stats.requests).toBe(1);
    expect(await metric(h.url, 'gateway_requests_total', { model: 'claude', outcome: 'upstream_error' })).toBe(1);
  });

  it('F-12: the openai client raises APIError for an Anthropic error event after commit', async () => {
    const { h, client } = await setup();
    h.fakes[0]!.setBehaviour({ chunkIntervalMs: 30 });
    h.fakes[0]!.enqueue({ kind: 'error-event', afterChunks: 5 });
    const stream = await client.chat.completions.create({ model: 'claude', messages, stream: true });
    let text = '';
    const consume = async (): Promise<void> => {
      for await (const c of stream) text += c.choices[0]?.delta.content ?? '';
    };
    await expect(consume()).rejects.toBeInstanceOf(APIError);
    expect(text).toBe('one two three four ');
  });

  it('F-14: an error event right after message_start is pre-commit → failed over to the other deployment, clean stream', async () => {
    const { h } = await setup({ fakes: 2, extra: { routing: { strategy: 'priority' } }, target: {} });
    const [a, b] = h.fakes;
    a!.enqueue({ kind: 'error-event', afterChunks: 1 });
    b!.enqueue({ kind: 'error-event', afterChunks: 3 });
    // Both error before any content (message_start; then message_start, block start, ping): a fails over to b, b back to a.
    const res = await chat(h.url, chatBody('claude', { stream: true }));
    expect(res.status).toBe(200);
    expect(res.events().at(-1)).toBe('[DONE]');
    expect(res.headers['x-gateway-attempts']).toBe('3');
    expect(a!.stats.requests + b!.stats.requests).toBe(3);
  });

  it('F-14: error-only streams on every attempt → a real 502, not a 200 stream', async () => {
    const { h } = await setup();
    h.fakes[0]!.enqueue(...Array.from({ length: 3 }, () => ({ kind: 'error-event' as const, afterChunks: 0 })));
    const res = await chat(h.url, chatBody('claude', { stream: true }));
    expect(res.status).toBe(502);
    expect(res.json()).toMatchObject({ error: { code: 'upstream_error', type: 'server_error' } });
  });
});
