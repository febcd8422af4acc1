import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { parseChatRequest } from '../../api/parse-chat.js';
import { countTokens } from '../../api/token-count.js';
import { GatewayError } from '../../errors/gateway-error.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { UpstreamProtocolError, type ResponseContext, type TargetInfo } from '../types.js';
import { tritonAdapter } from './adapter.js';
import { chatUpstreamCall } from '../parameter-policy.js';

const target: TargetInfo = { upstreamModel: 'ensemble', basePath: '' };
const hi = [{ role: 'user', content: 'Hi' }];

function ctx(includeUsage: boolean, promptTokensEstimate = 9): ResponseContext {
  return { id: 'chatcmpl-gw-7', created: 1_700_000_123, model: 'llama-triton', includeUsage, promptTokensEstimate };
}

function request(extra: Record<string, unknown> = {}) {
  return parseChatRequest({ model: 'llama-triton', messages: hi, ...extra });
}

function bodyOf(extra: Record<string, unknown> = {}, t: TargetInfo = target): Record<string, unknown> {
  return JSON.parse(tritonAdapter.chatRequest(request(extra), t).body) as Record<string, unknown>;
}

function refusal(extra: Record<string, unknown>): GatewayError {
  try {
    chatUpstreamCall(tritonAdapter, request(extra), target);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

function event(data: unknown): SseEvent {
  return { event: undefined, data: typeof data === 'string' ? data : JSON.stringify(data), id: undefined };
}

function chunkBase(c: ResponseContext) {
  return { id: c.id, object: 'chat.completion.chunk', created: c.created, model: c.model };
}

describe('tritonAdapter.chatRequest: path', () => {
  it.each([
    { stream: false, t: target, path: '/v2/models/ensemble/generate', accept: 'application/json' },
    { stream: true, t: target, path: '/v2/models/ensemble/generate_stream', accept: 'text/event-stream' },
    { stream: false, t: { upstreamModel: 'ensemble', basePath: '/triton' }, path: '/triton/v2/models/ensemble/generate', accept: 'application/json' },
    { stream: true, t: { upstreamModel: 'ensemble', basePath: '/a/b' }, path: '/a/b/v2/models/ensemble/generate_stream', accept: 'text/event-stream' },
    { stream: false, t: { upstreamModel: 'my model/v1?x#y', basePath: '' }, path: '/v2/models/my%20model%2Fv1%3Fx%23y/generate', accept: 'application/json' },
    { stream: false, t: { upstreamModel: 'llämä', basePath: '' }, path: '/v2/models/ll%C3%A4m%C3%A4/generate', accept: 'application/json' },
  ])('stream=$stream $t.basePath $t.upstreamModel → $path', ({ stream, t, path, accept }) => {
    const call = tritonAdapter.chatRequest(request({ stream }), t);
    expect(call.method).toBe('POST');
    expect(call.path).toBe(path);
    expect(call.headers['content-type']).toBe('application/json');
    expect(call.headers.accept).toBe(accept);
  });
});

describe('tritonAdapter.chatRequest: body', () => {
  it('renders the messages as a transcript in text_input', () => {
    const body = bodyOf({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'developer', content: 'No emojis.' },
        { role: 'user', content: [{ type: 'text', text: 'What is ' }, { type: 'text', text: 'ML?' }] },
        { role: 'assistant', content: 'Machine learning.' },
        { role: 'user', content: 'Thanks' },
        { role: 'assistant', content: null },
      ],
    });
    expect(body.text_input).toBe(
      'System: Be brief.\n\nSystem: No emojis.\n\nUser: What is ML?\n\nAssistant: Machine learning.\n\nUser: Thanks\n\nAssistant: \n\nAssistant:',
    );
  });

  it('a minimal request sends only text_input (never an invented max_tokens)', () => {
    expect(bodyOf()).toEqual({ text_input: 'User: Hi\n\nAssistant:' });
  });

  it.each([
    { extra: { max_tokens: 64 }, expected: { max_tokens: 64 } },
    { extra: { max_completion_tokens: 32 }, expected: { max_tokens: 32 } },
    { extra: { max_tokens: 64, max_completion_tokens: 32 }, expected: { max_tokens: 32 } },
    { extra: { temperature: 0.7 }, expected: { temperature: 0.7 } },
    { extra: { temperature: 0 }, expected: { temperature: 0 } },
    { extra: { top_p: 0.9, seed: 42, presence_penalty: 0.1, frequency_penalty: -0.2 }, expected: { top_p: 0.9, seed: 42, presence_penalty: 0.1, frequency_penalty: -0.2 } },
    { extra: { top_k: 40 }, expected: { top_k: 40 } },
    { extra: { temperature: null }, expected: {} },
    { extra: { stop: '\n\n' }, expected: { stop_words: ['\n\n'] } },
    { extra: { stop: ['END', 'User:'] }, expected: { stop_words: ['END', 'User:'] } },
    { extra: { stop: null }, expected: {} },
    { extra: { stream: true }, expected: { stream: true } },
    { extra: { stream: false }, expected: {} },
    { extra: { n: 1 }, expected: {} },
    { extra: { logprobs: false, tools: null }, expected: {} },
    { extra: { user: 'u-1', unknown_field: 1 }, expected: {} },
  ])('$extra → $expected', ({ extra, expected }) => {
    expect(bodyOf(extra)).toEqual({ text_input: 'User: Hi\n\nAssistant:', ...expected });
  });
});

describe('tritonAdapter.chatRequest: refusals name the param', () => {
  it.each([
    { name: 'tools', extra: { tools: [{ type: 'function', function: { name: 'f' } }] }, param: 'tools' },
    { name: 'tool_choice', extra: { tool_choice: 'auto' }, param: 'tool_choice' },
    { name: 'functions', extra: { functions: [{ name: 'f' }] }, param: 'functions' },
    { name: 'response_format', extra: { response_format: { type: 'json_object' } }, param: 'response_format' },
    { name: 'logprobs', extra: { logprobs: true }, param: 'logprobs' },
    { name: 'top_logprobs', extra: { top_logprobs: 3 }, param: 'top_logprobs' },
    { name: 'logit_bias', extra: { logit_bias: { '1': 5 } }, param: 'logit_bias' },
    { name: 'n=2', extra: { n: 2 }, param: 'n' },
    { name: 'n=8', extra: { n: 8 }, param: 'n' },
    {
      name: 'image part',
      extra: { messages: [{ role: 'system', content: 's' }, { role: 'user', content: [{ type: 'text', text: 'see' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] },
      param: 'messages[1].content[1]',
    },
    { name: 'audio part', extra: { messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }, param: 'messages[0].content[0]' },
    { name: 'text part without text', extra: { messages: [{ role: 'user', content: [{ type: 'text' }] }] }, param: 'messages[0].content[0]' },
    {
      name: 'tool message',
      extra: { messages: [{ role: 'user', content: 'q' }, { role: 'assistant', content: 'a' }, { role: 'tool', tool_call_id: 'c', content: '42' }] },
      param: 'messages[2].role',
    },
    { name: 'function message', extra: { messages: [{ role: 'function', name: 'f', content: '42' }] }, param: 'messages[0].role' },
    {
      name: 'assistant tool calls',
      extra: { messages: [hi[0], { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }] },
      param: 'messages[1].tool_calls',
    },
  ])('$name → unsupported_parameter, param $param', ({ extra, param }) => {
    const err = refusal(extra);
    expect(err.code).toBe('unsupported_parameter');
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
  });
});

describe('tritonAdapter.chatResponse', () => {
  it('counts the prompt with the tokenizer when the pipeline offers it, once per stream', () => {
    let calls = 0;
    const c = { ...ctx(true, 21), countPromptTokens: () => ((calls += 1), 33) };
    expect(tritonAdapter.chatResponse({ text_output: 'hello world' }, c).usage).toMatchObject({ promptTokens: 33, completionTokens: 2, estimated: true });
    const t = tritonAdapter.chatStream(c);
    t.onEvent({ event: undefined, id: undefined, data: JSON.stringify({ text_output: 'hello world' }) });
    t.onEnd();
    expect(t.usage()).toMatchObject({ promptTokens: 33, completionTokens: 2 });
    expect(calls).toBe(2);
  });

  it('turns text_output into a completion with estimated usage', () => {
    const c = ctx(false, 21);
    const text = 'Machine learning is a field of AI.';
    const { completion, usage } = tritonAdapter.chatResponse({ model_name: 'ensemble', model_version: '1', text_output: text, sequence_id: 0 }, c);
    const completionTokens = countTokens(text);
    expect(usage).toEqual({ promptTokens: 21, completionTokens, cachedTokens: 0, reasoningTokens: 0, estimated: true });
    expect(completion).toEqual({
      id: c.id,
      object: 'chat.completion',
      created: c.created,
      model: 'llama-triton',
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs: null, finish_reason: 'stop' }],
      usage: {
        prompt_tokens: 21,
        completion_tokens: completionTokens,
        total_tokens: 21 + completionTokens,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    });
  });

  it('an empty text_output is an empty answer with 0 completion tokens', () => {
    const { completion, usage } = tritonAdapter.chatResponse({ text_output: '' }, ctx(false));
    expect(completion.choices[0]?.message.content).toBe('');
    expect(usage.completionTokens).toBe(0);
  });

  it.each([null, 'text', [], {}, { text_output: 5 }, { outputs: [] }])('%j → UpstreamProtocolError', (body) => {
    expect(() => tritonAdapter.chatResponse(body, ctx(false))).toThrow(UpstreamProtocolError);
  });
});

describe('tritonAdapter stream translator', () => {
  const deltas = ['Machine', ' learning', '', ' is', ' neat.'];

  function run(includeUsage: boolean) {
    const c = ctx(includeUsage, 13);
    const t = tritonAdapter.chatStream(c);
    const steps = deltas.map((d) => t.onEvent(event({ model_name: 'ensemble', model_version: '1', text_output: d })));
    const end = t.onEnd();
    return { c, t, steps, end };
  }

  it('first event → role chunk; later events → content deltas (empty deltas send nothing)', () => {
    const { c, steps } = run(false);
    const b = chunkBase(c);
    expect(steps.map((s) => s.chunks)).toEqual([
      [{ ...b, choices: [{ index: 0, delta: { role: 'assistant', content: 'Machine' }, logprobs: null, finish_reason: null }] }],
      [{ ...b, choices: [{ index: 0, delta: { content: ' learning' }, logprobs: null, finish_reason: null }] }],
      [],
      [{ ...b, choices: [{ index: 0, delta: { content: ' is' }, logprobs: null, finish_reason: null }] }],
      [{ ...b, choices: [{ index: 0, delta: { content: ' neat.' }, logprobs: null, finish_reason: null }] }],
    ]);
    expect(steps.every((s) => !s.done && s.error === undefined)).toBe(true);
  });

  it.each([true, false])('onEnd → finish chunk, plus a usage chunk only when includeUsage (%s)', (includeUsage) => {
    const { c, end, t } = run(includeUsage);
    const b = chunkBase(c);
    const text = deltas.join('');
    const completionTokens = countTokens(text);
    const finish = { ...b, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] };
    const usageChunk = {
      ...b,
      choices: [],
      usage: {
        prompt_tokens: 13,
        completion_tokens: completionTokens,
        total_tokens: 13 + completionTokens,
        prompt_tokens_details: { cached_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: 0 },
      },
    };
    expect(end.done).toBe(true);
    expect(end.chunks).toEqual(includeUsage ? [finish, usageChunk] : [finish]);
    expect(t.usage()).toEqual({ promptTokens: 13, completionTokens, cachedTokens: 0, reasoningTokens: 0, estimated: true });
  });

  it('a stream with no events still ends with a role chunk and a finish chunk', () => {
    const c = ctx(false);
    const end = tritonAdapter.chatStream(c).onEnd();
    expect(end.chunks.map((ch) => ch.choices[0])).toEqual([
      { index: 0, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null },
      { index: 0, delta: {}, logprobs: null, finish_reason: 'stop' },
    ]);
  });

  it('an error event yields a step with a scrubbed error', () => {
    const t = tritonAdapter.chatStream(ctx(true));
    t.onEvent(event({ text_output: 'a' }));
    const step = t.onEvent(event({ error: 'Executor failed: token=abcdef123 out of memory' }));
    expect(step.chunks).toEqual([]);
    expect(step.done).toBe(false);
    expect(step.error).toEqual({ message: expect.stringContaining('out of memory'), type: 'server_error', code: null, param: null });
    expect(step.error?.message).not.toContain('abcdef123');
  });

  it.each([
    { name: 'not JSON', data: 'oops' },
    { name: 'no text_output', data: JSON.stringify({ model_name: 'ensemble' }) },
    { name: 'a JSON array', data: '[]' },
  ])('an event that is $name → UpstreamProtocolError', ({ data }) => {
    expect(() => tritonAdapter.chatStream(ctx(false)).onEvent(event(data))).toThrow(UpstreamProtocolError);
  });
});

describe('tritonAdapter.errorInfo', () => {
  it.each([
    { status: 400, body: { error: "Request for unknown model: 'x' is not found" }, message: "Request for unknown model: 'x' is not found", type: 'invalid_request_error' },
    { status: 429, body: { error: 'Exceeds maximum queue size' }, message: 'Exceeds maximum queue size', type: 'rate_limit_error' },
    { status: 503, body: 'Server not ready', message: 'Server not ready', type: 'server_error' },
    { status: 500, body: undefined, message: 'upstream answered 500', type: 'server_error' },
    { status: 500, body: { error: { nested: true } }, message: 'upstream answered 500', type: 'server_error' },
  ])('$status $body', ({ status, body, message, type }) => {
    expect(tritonAdapter.errorInfo(status, body)).toEqual({ message, type, code: null, param: null });
  });
});

describe('Triton stream translator memory (issue 9 §2)', () => {
  it('keeps a bounded start of the streamed text, not all of it: 96 MB streamed, usage still extrapolated to all of it', () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const t = tritonAdapter.chatStream(ctx(true));
    const piece = 'The quick brown fox jumps over the lazy dog. '.repeat(1_456); // ≈ 64 KiB
    gc();
    const before = process.memoryUsage().heapUsed;
    const events = 1_500;
    for (let i = 0; i < events; i++) {
      // A fresh string per event, as JSON.parse gives the translator.
      t.onEvent(event(`{"text_output":${JSON.stringify(piece + i)}}`));
    }
    gc();
    const grownBytes = process.memoryUsage().heapUsed - before;
    // Main kept every delta: ≈ 96 M characters, ≥ 96 MB of heap.
    expect(grownBytes).toBeLessThan(24 * 1024 * 1024);
    const usage = t.usage();
    const perPiece = countTokens(piece);
    expect(usage.completionTokens).toBeGreaterThan(events * perPiece * 0.95);
    expect(usage.completionTokens).toBeLessThan(events * perPiece * 1.05);
  });
});
