import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseChatRequest } from '../../api/parse-chat.js';
import type { ChatChunk } from '../../api/chat-types.js';
import { countTokens } from '../../api/token-count.js';
import { SseDecoder } from '../../upstream/sse-decoder.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type TargetInfo } from '../types.js';
import { openAiAdapter, openAiErrorInfo } from './adapter.js';

// Recorded real OpenAI streams, copied into the repository with their license.
const FIXTURES = new URL('../../../test/fixtures/openai-chat-streams/', import.meta.url);
const fixtureNames = readdirSync(FIXTURES).filter((n) => n.endsWith('.sse')).sort();

const target: TargetInfo = { upstreamModel: 'gpt-4o-mini-2024-07-18', basePath: '/v1' };

function ctx(includeUsage: boolean, promptTokensEstimate = 7): ResponseContext {
  return { id: 'chatcmpl-gw-1', created: 1_700_000_000, model: 'gpt-mini', includeUsage, promptTokensEstimate };
}

function request(extra: Record<string, unknown> = {}) {
  return parseChatRequest({ model: 'gpt-mini', messages: [{ role: 'user', content: 'Hi' }], ...extra });
}

function decodeFixture(name: string): SseEvent[] {
  const decoder = new SseDecoder();
  const events = decoder.push(readFileSync(new URL(name, FIXTURES)));
  events.push(...decoder.end());
  return events;
}

function dataEvent(data: unknown): SseEvent {
  return { event: undefined, data: typeof data === 'string' ? data : JSON.stringify(data), id: undefined };
}

interface Replay {
  readonly steps: StreamStep[];
  readonly chunks: ChatChunk[];
  readonly end: StreamStep;
}

function replay(events: readonly SseEvent[], c: ResponseContext, translator = openAiAdapter.chatStream(c)): Replay & { translator: typeof translator } {
  const steps = events.map((e) => translator.onEvent(e));
  const end = translator.onEnd();
  return { steps, chunks: steps.flatMap((s) => s.chunks), end, translator };
}

/** The JSON chunks a fixture holds (every event but [DONE]). */
function inputChunks(events: readonly SseEvent[]): Array<Record<string, any>> {
  return events.filter((e) => e.data !== '[DONE]').map((e) => JSON.parse(e.data) as Record<string, any>);
}

/** Concatenated tool-call arguments by "choice/toolIndex". */
function toolArguments(chunks: ReadonlyArray<Record<string, any>>): Map<string, { id?: string; name?: string; args: string }> {
  const calls = new Map<string, { id?: string; name?: string; args: string }>();
  for (const chunk of chunks) {
    for (const choice of chunk.choices ?? []) {
      for (const tc of choice.delta?.tool_calls ?? []) {
        const key = `${choice.index}/${tc.index}`;
        const call = calls.get(key) ?? { args: '' };
        if (tc.id) call.id = tc.id;
        if (tc.function?.name) call.name = tc.function.name;
        call.args += tc.function?.arguments ?? '';
        calls.set(key, call);
      }
    }
  }
  return calls;
}

describe('openAiAdapter.chatRequest', () => {
  it('replaces model, keeps every other field, POSTs to basePath/chat/completions', () => {
    const r = request({ temperature: 0.3, tools: [{ type: 'function', function: { name: 'f' } }], seed: 1, custom_field: { a: 1 } });
    const call = openAiAdapter.chatRequest(r, target);
    expect(call.method).toBe('POST');
    expect(call.path).toBe('/v1/chat/completions');
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers.accept).toBe('application/json');
    expect(JSON.parse(call.body)).toEqual({ ...r.body, model: target.upstreamModel });
    expect(JSON.parse(call.body)).not.toHaveProperty('stream_options');
    expect(r.body.model).toBe('gpt-mini');
  });

  it.each([
    { basePath: '', path: '/chat/completions' },
    { basePath: '/openai/v1', path: '/openai/v1/chat/completions' },
  ])('basePath $basePath → $path', ({ basePath, path }) => {
    expect(openAiAdapter.chatRequest(request(), { upstreamModel: 'x', basePath }).path).toBe(path);
  });

  it.each([
    { name: 'no stream_options', extra: { stream: true }, expected: { include_usage: true } },
    { name: 'include_usage false', extra: { stream: true, stream_options: { include_usage: false } }, expected: { include_usage: true } },
    { name: 'null stream_options', extra: { stream: true, stream_options: null }, expected: { include_usage: true } },
    {
      name: 'other options kept',
      extra: { stream: true, stream_options: { include_obfuscation: false } },
      expected: { include_obfuscation: false, include_usage: true },
    },
  ])('streams force stream_options.include_usage ($name)', ({ extra, expected }) => {
    const r = request({ ...extra, max_tokens: 5 });
    const call = openAiAdapter.chatRequest(r, target);
    const body = JSON.parse(call.body);
    expect(body.stream_options).toEqual(expected);
    expect(body.stream).toBe(true);
    expect(body.max_tokens).toBe(5);
    expect(body.model).toBe(target.upstreamModel);
    expect(call.headers.accept).toBe('text/event-stream');
    // The client's own request is left as it was.
    expect(r.body.stream_options).toEqual((extra as { stream_options?: unknown }).stream_options);
  });
});

describe('openAiAdapter.chatResponse', () => {
  const upstream = {
    id: 'chatcmpl-up',
    object: 'chat.completion',
    created: 1741569952,
    model: 'gpt-4o-mini-2024-07-18',
    system_fingerprint: 'fp_1',
    choices: [{ index: 0, message: { role: 'assistant', content: 'Hello!', refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: {
      prompt_tokens: 19,
      completion_tokens: 10,
      total_tokens: 29,
      prompt_tokens_details: { cached_tokens: 4, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 3, audio_tokens: 0 },
    },
  };

  it('rewrites model to the alias and keeps the rest', () => {
    const { completion } = openAiAdapter.chatResponse(structuredClone(upstream), ctx(false));
    expect(completion).toEqual({ ...upstream, model: 'gpt-mini' });
  });

  it.each([
    { name: 'with details', usage: upstream.usage, expected: { promptTokens: 19, completionTokens: 10, cachedTokens: 4, reasoningTokens: 3, estimated: false } },
    { name: 'without details', usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11 }, expected: { promptTokens: 5, completionTokens: 6, cachedTokens: 0, reasoningTokens: 0, estimated: false } },
    {
      name: 'null details',
      usage: { prompt_tokens: 5, completion_tokens: 6, total_tokens: 11, prompt_tokens_details: null, completion_tokens_details: null },
      expected: { promptTokens: 5, completionTokens: 6, cachedTokens: 0, reasoningTokens: 0, estimated: false },
    },
  ])('extracts usage ($name)', ({ usage, expected }) => {
    const { usage: record, completion } = openAiAdapter.chatResponse({ ...upstream, usage }, ctx(false));
    expect(record).toEqual(expected);
    // The client's usage always has the cached and reasoning details, whatever the server sent.
    expect(completion.usage).toMatchObject({
      prompt_tokens: expected.promptTokens,
      completion_tokens: expected.completionTokens,
      prompt_tokens_details: { cached_tokens: expected.cachedTokens },
      completion_tokens_details: { reasoning_tokens: expected.reasoningTokens },
    });
  });

  it('without usage from the server the client gets the estimate, tokenizer-counted prompt included', () => {
    const body = { ...upstream, usage: undefined };
    const c = { ...ctx(false, 12), countPromptTokens: () => 40 };
    const { usage, completion } = openAiAdapter.chatResponse(body, c);
    expect(usage).toEqual({ promptTokens: 40, completionTokens: countTokens('Hello!'), cachedTokens: 0, reasoningTokens: 0, estimated: true });
    expect(completion.usage).toEqual({
      prompt_tokens: 40,
      completion_tokens: usage.completionTokens,
      total_tokens: 40 + usage.completionTokens,
      prompt_tokens_details: { cached_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
  });

  it.each([
    { name: 'missing', usage: undefined },
    { name: 'null', usage: null },
    { name: 'not numbers', usage: { prompt_tokens: '5', completion_tokens: 6 } },
  ])('estimates usage when it is $name', ({ usage }) => {
    const text = 'Hello there, this is twenty-nine.'; // 33 bytes → 9 tokens
    const body = { ...upstream, usage, choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }] };
    expect(openAiAdapter.chatResponse(body, ctx(false, 12)).usage).toEqual({
      promptTokens: 12,
      completionTokens: countTokens(text),
      cachedTokens: 0,
      reasoningTokens: 0,
      estimated: true,
    });
  });

  it.each([null, 'text', [], {}, { choices: 'x' }, { choices: null }])('%j without a choices array → UpstreamProtocolError', (body) => {
    expect(() => openAiAdapter.chatResponse(body, ctx(false))).toThrow(UpstreamProtocolError);
  });
});

describe('openAiAdapter stream translator over recorded streams', () => {
  it('there are recordings', () => {
    expect(fixtureNames.length).toBeGreaterThanOrEqual(10);
  });

  describe.each(fixtureNames)('%s', (name) => {
    const events = decodeFixture(name);
    const input = inputChunks(events);
    const finalUsage = input.at(-1)?.usage as Record<string, any>;

    it('is a complete recording (sanity)', () => {
      expect(events.at(-1)?.data).toBe('[DONE]');
      expect(finalUsage).toBeTypeOf('object');
      expect(input.at(-1)?.choices).toEqual([]);
    });

    it('includeUsage: output chunks equal input chunks except model and the usage details filled in', () => {
      const { chunks, end, steps } = replay(events, ctx(true));
      const withDetails = (u: Record<string, any>) => ({
        ...u,
        prompt_tokens_details: { ...u.prompt_tokens_details, cached_tokens: u.prompt_tokens_details?.cached_tokens ?? 0 },
        completion_tokens_details: { ...u.completion_tokens_details, reasoning_tokens: u.completion_tokens_details?.reasoning_tokens ?? 0 },
      });
      expect(chunks).toEqual(input.map((c) => ({ ...c, model: 'gpt-mini', ...(c.usage ? { usage: withDetails(c.usage) } : {}) })));
      expect(steps.at(-1)).toEqual({ chunks: [], done: true });
      expect(steps.slice(0, -1).every((s) => !s.done && s.error === undefined)).toBe(true);
      expect(end).toEqual({ chunks: [], done: true });
    });

    it('no includeUsage: the usage-only chunk is dropped and no chunk has usage', () => {
      const { chunks } = replay(events, ctx(false));
      const expected = input.filter((c) => !(c.choices.length === 0 && c.usage)).map((c) => ({ ...c, model: 'gpt-mini' }));
      expect(chunks).toHaveLength(input.length - 1);
      expect(chunks).toEqual(expected);
      for (const chunk of chunks) {
        expect(Object.hasOwn(chunk, 'usage')).toBe(false);
        expect(chunk.choices.length).toBeGreaterThan(0);
      }
    });

    it.each([true, false])('usage() is the reported usage, not estimated (includeUsage=%s)', (includeUsage) => {
      const { translator } = replay(events, ctx(includeUsage));
      expect(translator.usage()).toEqual({
        promptTokens: finalUsage.prompt_tokens,
        completionTokens: finalUsage.completion_tokens,
        cachedTokens: finalUsage.prompt_tokens_details?.cached_tokens ?? 0,
        reasoningTokens: finalUsage.completion_tokens_details?.reasoning_tokens ?? 0,
        estimated: false,
      });
    });

    it('tool-call deltas pass through intact', () => {
      const { chunks } = replay(events, ctx(false));
      const before = toolArguments(input);
      const after = toolArguments(chunks as unknown as Array<Record<string, any>>);
      expect(after).toEqual(before);
      for (const call of after.values()) {
        expect(call.id).toMatch(/^call_/);
        expect(call.name).toBeTruthy();
        expect(() => JSON.parse(call.args)).not.toThrow();
      }
    });

    it('decoding in 7-byte pieces gives the same chunks', () => {
      const bytes = readFileSync(new URL(name, FIXTURES));
      const decoder = new SseDecoder();
      const split: SseEvent[] = [];
      for (let i = 0; i < bytes.length; i += 7) split.push(...decoder.push(bytes.subarray(i, i + 7)));
      expect(replay(split, ctx(true)).chunks).toEqual(replay(events, ctx(true)).chunks);
    });

    it('a stream cut before [DONE] makes onEnd throw UpstreamProtocolError', () => {
      const translator = openAiAdapter.chatStream(ctx(true));
      for (const e of events.slice(0, -1)) translator.onEvent(e);
      expect(() => translator.onEnd()).toThrow(UpstreamProtocolError);
    });
  });

  it('the recordings include parallel tool calls with JSON arguments', () => {
    const all = fixtureNames.flatMap((n) => [...toolArguments(inputChunks(decodeFixture(n))).values()]);
    expect(all.length).toBeGreaterThanOrEqual(5);
    expect(all.some((c) => JSON.parse(c.args) !== null && typeof JSON.parse(c.args) === 'object')).toBe(true);
  });
});

describe('openAiAdapter stream translator: synthetic streams', () => {
  const base = { id: 'chatcmpl-x', object: 'chat.completion.chunk', created: 1, model: 'up' };
  const content = (text: string) => ({ ...base, choices: [{ index: 0, delta: { content: text }, finish_reason: null }], usage: null });

  it('usage: null on every chunk is removed when the client did not ask for usage', () => {
    const { chunks } = replay([dataEvent(content('a')), dataEvent(content('b')), dataEvent('[DONE]')], ctx(false));
    expect(chunks).toHaveLength(2);
    for (const c of chunks) expect(Object.hasOwn(c, 'usage')).toBe(false);
  });

  it('a client that asked for usage gets an estimated usage chunk before [DONE] when the server sent none', () => {
    const { chunks, translator } = replay([dataEvent(content('Hello ')), dataEvent(content('world')), dataEvent('[DONE]')], ctx(true, 11));
    expect(chunks).toHaveLength(3);
    expect(chunks[2]).toEqual({
      id: 'chatcmpl-x',
      object: 'chat.completion.chunk',
      created: 1,
      model: 'gpt-mini',
      choices: [],
      usage: { prompt_tokens: 11, completion_tokens: countTokens('Hello world'), total_tokens: 11 + countTokens('Hello world'), prompt_tokens_details: { cached_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0 } },
    });
    expect(translator.usage().estimated).toBe(true);
    // Not asked for: nothing added.
    expect(replay([dataEvent(content('Hello ')), dataEvent('[DONE]')], ctx(false)).chunks).toHaveLength(1);
  });

  it("Azure's first chunk (choices: [], prompt_filter_results, empty id/object) is dropped", () => {
    const filter = { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: {} }] };
    const { chunks } = replay([dataEvent(filter), dataEvent(content('a')), dataEvent('[DONE]')], ctx(true));
    expect(chunks.map((c) => c.id)).toEqual(['chatcmpl-x', 'chatcmpl-x']);
    expect(chunks[1]?.choices).toEqual([]);
    expect(chunks[1]?.usage?.prompt_tokens).toBe(7);
  });

  it('without reported usage, usage() is estimated from the streamed text', () => {
    const { translator } = replay([dataEvent(content('Hello ')), dataEvent(content('world, how are you?')), dataEvent('[DONE]')], ctx(true, 11));
    expect(translator.usage()).toEqual({
      promptTokens: 11,
      completionTokens: countTokens('Hello world, how are you?'),
      cachedTokens: 0,
      reasoningTokens: 0,
      estimated: true,
    });
  });

  it('an empty stream that ends with [DONE] is fine; without it onEnd throws', () => {
    expect(replay([dataEvent('[DONE]')], ctx(true)).end.done).toBe(true);
    const t = openAiAdapter.chatStream(ctx(true));
    expect(() => t.onEnd()).toThrow(UpstreamProtocolError);
  });

  it('an {"error":...} event yields a step with a scrubbed error and no chunks', () => {
    const t = openAiAdapter.chatStream(ctx(true));
    t.onEvent(dataEvent(content('partial')));
    const step = t.onEvent(dataEvent({ error: { message: 'The server had an error (key sk-proj-ABCDEF1234567890)', type: 'server_error', param: null, code: 'server_error' } }));
    expect(step.chunks).toEqual([]);
    expect(step.done).toBe(false);
    expect(step.error).toBeDefined();
    expect(step.error?.type).toBe('server_error');
    expect(step.error?.code).toBe('server_error');
    expect(step.error?.message).toContain('The server had an error');
    expect(step.error?.message).not.toContain('sk-proj-ABCDEF1234567890');
  });

  it.each([
    { name: 'not JSON', data: 'hello' },
    { name: 'a JSON array', data: '[1,2]' },
    { name: 'a JSON string', data: '"x"' },
    { name: 'no choices', data: JSON.stringify({ ...base }) },
  ])('an event that is $name → UpstreamProtocolError', ({ data }) => {
    expect(() => openAiAdapter.chatStream(ctx(true)).onEvent(dataEvent(data))).toThrow(UpstreamProtocolError);
  });
});

describe('openAiErrorInfo', () => {
  it.each([
    {
      name: 'OpenAI 401 (key in message is scrubbed)',
      status: 401,
      body: { error: { message: 'Incorrect API key provided: sk-proj-abc123XYZ789. You can find your API key at …', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } },
      expected: { type: 'authentication_error', code: 'invalid_api_key', param: null },
      contains: 'Incorrect API key provided',
      secret: 'sk-proj-abc123XYZ789',
    },
    {
      name: 'OpenAI 400 context length with param',
      status: 400,
      body: { error: { message: "This model's maximum context length is 128000 tokens.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } },
      expected: { type: 'invalid_request_error', code: 'context_length_exceeded', param: 'messages' },
      contains: 'maximum context length',
    },
    {
      name: 'OpenAI 429',
      status: 429,
      body: { error: { message: 'Rate limit reached', type: 'requests', param: null, code: 'rate_limit_exceeded' } },
      expected: { type: 'rate_limit_error', code: 'rate_limit_exceeded', param: null },
      contains: 'Rate limit reached',
    },
    {
      name: 'vLLM nested with integer code',
      status: 400,
      body: { error: { message: 'max_tokens must be at least 1', type: 'BadRequestError', param: null, code: 400 } },
      expected: { type: 'invalid_request_error', code: '400', param: null },
      contains: 'max_tokens must be at least 1',
    },
    {
      name: 'vLLM flat legacy with integer code',
      status: 404,
      body: { object: 'error', message: 'The model `x` does not exist.', type: 'NotFoundError', param: null, code: 404 },
      expected: { type: 'not_found_error', code: '404', param: null },
      contains: 'does not exist',
    },
    {
      name: 'flat legacy without code',
      status: 500,
      body: { object: 'error', message: 'boom', type: 'internal', code: null },
      expected: { type: 'server_error', code: null, param: null },
      contains: 'boom',
    },
    {
      name: 'string body',
      status: 502,
      body: 'Bad gateway from nginx with Bearer abc.def.ghi',
      expected: { type: 'server_error', code: null, param: null },
      contains: 'Bad gateway from nginx',
      secret: 'abc.def.ghi',
    },
    {
      name: '{"error": "string"}',
      status: 503,
      body: { error: 'overloaded, try sk-live-1234567890' },
      expected: { type: 'server_error', code: null, param: null },
      contains: 'overloaded',
      secret: 'sk-live-1234567890',
    },
    { name: 'empty string', status: 504, body: '', expected: { type: 'timeout_error', code: null, param: null }, contains: 'upstream answered 504' },
    { name: 'undefined', status: 500, body: undefined, expected: { type: 'server_error', code: null, param: null }, contains: 'upstream answered 500' },
    { name: 'null', status: 403, body: null, expected: { type: 'permission_error', code: null, param: null }, contains: 'upstream answered 403' },
    { name: 'array', status: 400, body: [1], expected: { type: 'invalid_request_error', code: null, param: null }, contains: 'upstream answered 400' },
  ])('$name', ({ status, body, expected, contains, secret }) => {
    const info = openAiErrorInfo(status, body);
    expect(info).toEqual({ ...expected, message: expect.any(String) });
    expect(info.message).toContain(contains);
    if (secret !== undefined) expect(info.message).not.toContain(secret);
    expect(openAiAdapter.errorInfo(status, body)).toEqual(info);
  });

  it('a very long upstream message is truncated', () => {
    const info = openAiErrorInfo(500, { error: { message: 'x'.repeat(50_000) } });
    expect(info.message.length).toBeLessThanOrEqual(1001);
  });
});
