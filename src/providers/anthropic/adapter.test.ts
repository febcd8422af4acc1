import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatChunk } from '../../api/chat-types.js';
import { parseChatRequest } from '../../api/parse-chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { SseDecoder } from '../../upstream/sse-decoder.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type TargetInfo } from '../types.js';
import { anthropicAdapter } from './adapter.js';
import { AnthropicStreamTranslator } from './stream.js';
import { chatUpstreamCall } from '../parameter-policy.js';

const fixture = (name: string): string => readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
const target: TargetInfo = { upstreamModel: 'claude-sonnet-4-5', basePath: '' };
const ctx = (includeUsage = true): ResponseContext => ({ id: 'chatcmpl-gw-1', created: 1_700_000_000, model: 'claude', includeUsage, promptTokensEstimate: 7 });

function call(extra: Record<string, unknown>, t: TargetInfo = target) {
  return chatUpstreamCall(anthropicAdapter, parseChatRequest({ model: 'claude', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }], ...extra }), t);
}
const bodyOf = (extra: Record<string, unknown>, t?: TargetInfo): Record<string, unknown> => JSON.parse(call(extra, t).body) as Record<string, unknown>;

function refusal(extra: Record<string, unknown>, t?: TargetInfo): GatewayError {
  try {
    call(extra, t);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

/** A recorded `.chunks.txt` (one payload per line) as the SSE bytes Anthropic sends: `event:` + `data:` lines. */
function sseBytes(name: string): Buffer {
  const lines = fixture(name).split('\n').filter((l) => l.trim() !== '');
  return Buffer.from(lines.map((l) => `event: ${(JSON.parse(l) as { type: string }).type}\ndata: ${l}\n\n`).join(''), 'utf8');
}

/** Replays bytes cut into the given pieces through a fresh decoder and translator; returns every chunk and the end step. */
function replay(bytes: Buffer, cuts: number[], includeUsage = true): { chunks: ChatChunk[]; done: boolean; translator: AnthropicStreamTranslator } {
  const translator = new AnthropicStreamTranslator(ctx(includeUsage));
  const decoder = new SseDecoder();
  const chunks: ChatChunk[] = [];
  let done = false;
  const take = (step: StreamStep): void => {
    chunks.push(...step.chunks);
    done ||= step.done;
  };
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    for (const e of decoder.push(bytes.subarray(from, cut))) take(translator.onEvent(e));
    from = cut;
  }
  for (const e of decoder.end()) take(translator.onEvent(e));
  take(translator.onEnd());
  return { chunks, done, translator };
}

const streams = [
  { file: 'anthropic-text.chunks.txt', text: "Hello! I'm doing well, thank you for asking. How are you doing today? Is there anything I can help you with?", tools: [], finish: 'stop', usage: { prompt_tokens: 12, completion_tokens: 30 } },
  { file: 'anthropic-tool-no-args.chunks.txt', text: "I'll update the issue list for you.", tools: [{ id: 'toolu_01QE1WLsSVp5hy5Q3GmGTmjP', name: 'updateIssueList', arguments: '{}' }], finish: 'tool_calls', usage: { prompt_tokens: 565, completion_tokens: 48 } },
  { file: 'anthropic-json-tool.1.chunks.txt', text: '', tools: [{ id: 'toolu_01KFbKqPYSuAKujiL6mTfzYA', name: 'json', arguments: '{"elements": [{"location": "San Francisco", "temperature": 58, "condition": "sunny"}]}' }], finish: 'tool_calls', usage: { prompt_tokens: 849, completion_tokens: 47 } },
  { file: 'anthropic-refusal.chunks.txt', text: '', tools: [], finish: 'content_filter', usage: { prompt_tokens: 18, completion_tokens: 5 } },
  { file: 'anthropic-clear-thinking.1.chunks.txt', text: '925 ÷ 5 = 185', tools: [], finish: 'stop', usage: { prompt_tokens: 69, completion_tokens: 53 } },
  // message_delta repeats input_tokens with a different value: the later, cumulative one wins.
  { file: 'anthropic-message-delta-input-tokens.chunks.txt', text: 'pong', tools: [], finish: 'stop', usage: { prompt_tokens: 61, completion_tokens: 2 } },
];

describe('AnthropicStreamTranslator over recorded streams', () => {
  it.each(streams)('$file → text, tool calls, finish reason and usage', ({ file, text, tools, finish, usage }) => {
    const { chunks, done } = replay(sseBytes(file), []);
    expect(done).toBe(true);
    expect(chunks[0]?.choices[0]?.delta).toMatchObject({ role: 'assistant', content: '' });
    expect(chunks.every((c) => c.id === 'chatcmpl-gw-1' && c.model === 'claude' && c.object === 'chat.completion.chunk')).toBe(true);
    const deltas = chunks.flatMap((c) => c.choices.map((ch) => ch.delta));
    expect(deltas.map((d) => d.content ?? '').join('')).toBe(text);
    // Tool calls: stable OpenAI indexes from 0, id and name on the first fragment only, arguments reassembled.
    const calls: Array<{ id: string; name: string; arguments: string }> = [];
    for (const d of deltas) {
      for (const tc of d.tool_calls ?? []) {
        if (tc.id !== undefined) {
          expect(tc.index).toBe(calls.length);
          calls.push({ id: tc.id, name: tc.function?.name ?? '', arguments: tc.function?.arguments ?? '' });
        } else {
          const c = calls[tc.index];
          expect(c).toBeDefined();
          c!.arguments += tc.function?.arguments ?? '';
        }
      }
    }
    expect(calls).toEqual(tools);
    const finishes = chunks.flatMap((c) => c.choices.map((ch) => ch.finish_reason)).filter((f) => f !== null);
    expect(finishes).toEqual([finish]);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    expect(last?.usage).toMatchObject({ ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens });
  });

  it.each(streams)('$file: the same chunks whether split at every byte offset or sent as one piece', ({ file }) => {
    const bytes = sseBytes(file);
    const whole = JSON.stringify(replay(bytes, []).chunks);
    for (let cut = 1; cut < bytes.length; cut++) expect(JSON.stringify(replay(bytes, [cut]).chunks)).toBe(whole);
    // And byte by byte (every UTF-8 sequence split, e.g. the "÷").
    expect(JSON.stringify(replay(bytes, Array.from({ length: bytes.length - 1 }, (_, i) => i + 1)).chunks)).toBe(whole);
  });

  it('reasoning text goes to delta.reasoning_content; signature deltas are dropped', () => {
    const { chunks } = replay(sseBytes('anthropic-clear-thinking.1.chunks.txt'), []);
    const reasoning = chunks.map((c) => c.choices[0]?.delta.reasoning_content ?? '').join('');
    expect(reasoning).toBe('The previous result was 925. Now I need to divide that by 5.\n\n925 ÷ 5 = 185');
  });

  it('cache reads and writes are part of the prompt; reads are the cached share', () => {
    const t = new AnthropicStreamTranslator(ctx());
    t.onEvent({ event: 'message_start', id: undefined, data: JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 5, cache_read_input_tokens: 100, cache_creation_input_tokens: 20, output_tokens: 1 } } }) });
    t.onEvent({ event: 'message_delta', id: undefined, data: JSON.stringify({ type: 'message_delta', delta: { stop_reason: 'end_turn' }, usage: { output_tokens: 9, cache_read_input_tokens: null } }) });
    expect(t.usage()).toEqual({ promptTokens: 125, completionTokens: 9, cachedTokens: 100, cacheWriteTokens: 20, reasoningTokens: 0, estimated: false });
    const step = t.onEvent({ event: 'message_stop', id: undefined, data: '{"type":"message_stop"}' });
    expect(step.chunks.at(-1)?.usage).toEqual({ prompt_tokens: 125, completion_tokens: 9, total_tokens: 134, prompt_tokens_details: { cached_tokens: 100 }, completion_tokens_details: { reasoning_tokens: 0 } });
  });

  it('without include_usage there is no usage chunk, and usage is still recorded', () => {
    const { chunks, translator } = replay(sseBytes('anthropic-text.chunks.txt'), [], false);
    expect(chunks.some((c) => c.usage !== undefined)).toBe(false);
    expect(translator.usage()).toMatchObject({ promptTokens: 12, completionTokens: 30, estimated: false });
  });

  it('an in-stream error event becomes step.error; nothing is sent before it (pre-commit, F-14)', () => {
    const t = new AnthropicStreamTranslator(ctx());
    expect(t.onEvent({ event: 'message_start', id: undefined, data: JSON.stringify({ type: 'message_start', message: { usage: { input_tokens: 3, output_tokens: 1 } } }) }).chunks).toEqual([]);
    expect(t.onEvent({ event: 'ping', id: undefined, data: '{"type": "ping"}' }).chunks).toEqual([]);
    const step = t.onEvent({ event: 'error', id: undefined, data: '{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}' });
    expect(step.error).toEqual({ message: 'Overloaded', type: 'server_error', code: null, param: null });
  });

  it('a stream cut before message_stop is a truncation', () => {
    const bytes = sseBytes('anthropic-text.chunks.txt');
    const cut = bytes.indexOf('event: message_delta');
    const t = new AnthropicStreamTranslator(ctx());
    const decoder = new SseDecoder();
    for (const e of decoder.push(bytes.subarray(0, cut))) t.onEvent(e);
    expect(() => t.onEnd()).toThrow(UpstreamProtocolError);
  });

  it('unknown event types and non-JSON data', () => {
    const t = new AnthropicStreamTranslator(ctx());
    expect(t.onEvent({ event: 'brand_new_event', id: undefined, data: '{"type":"brand_new_event"}' })).toEqual({ chunks: [], done: false });
    expect(() => t.onEvent({ event: 'message_start', id: undefined, data: 'nope' })).toThrow(UpstreamProtocolError);
  });
});

describe('anthropicAdapter.chatResponse over recorded bodies', () => {
  it.each([
    { file: 'anthropic-text.json', content: "Hello! I'm doing well, thanks for asking. How are you doing today? Is there anything I can help you with?", tools: 0, finish: 'stop', prompt: 12, completion: 29 },
    { file: 'anthropic-tool-no-args.json', content: expect.stringContaining('Okay, I will update the current issue list:'), tools: 1, finish: 'tool_calls', prompt: 602, completion: 93 },
    { file: 'anthropic-json-tool.1.json', content: null, tools: 1, finish: 'tool_calls', prompt: 1151, completion: 87 },
    { file: 'anthropic-refusal.json', content: null, tools: 0, finish: 'content_filter', prompt: 18, completion: 5 },
    { file: 'anthropic-clear-thinking.1.json', content: '925 ÷ 5 = 185', tools: 0, finish: 'stop', prompt: 69, completion: 33 },
  ])('$file', ({ file, content, tools, finish, prompt, completion }) => {
    const { completion: c, usage } = anthropicAdapter.chatResponse(JSON.parse(fixture(file)), ctx());
    expect(c).toMatchObject({ id: 'chatcmpl-gw-1', object: 'chat.completion', created: 1_700_000_000, model: 'claude' });
    expect(c.choices[0]?.message.content).toEqual(content);
    expect(c.choices[0]?.message.tool_calls ?? []).toHaveLength(tools);
    expect(c.choices[0]?.finish_reason).toBe(finish);
    expect(c.usage).toMatchObject({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion });
    expect(usage).toMatchObject({ promptTokens: prompt, completionTokens: completion, estimated: false });
  });

  it('tool_use input objects become JSON-string arguments', () => {
    const { completion } = anthropicAdapter.chatResponse(JSON.parse(fixture('anthropic-json-tool.1.json')), ctx());
    const call = completion.choices[0]?.message.tool_calls?.[0];
    expect(call).toMatchObject({ id: 'toolu_01Q9ExVZnzZj7E2QQYHYtNUa', type: 'function', function: { name: 'json' } });
    expect(JSON.parse(call!.function.arguments)).toMatchObject({ elements: expect.arrayContaining([{ location: 'London', temperature: 0, condition: 'snowy' }]) });
  });

  it('a body that is not a message is a protocol error', () => {
    expect(() => anthropicAdapter.chatResponse({ choices: [] }, ctx())).toThrow(UpstreamProtocolError);
  });
});

describe('anthropicAdapter.chatRequest', () => {
  it('POSTs {base}/v1/messages with anthropic-version 2023-06-01 by default, the pinned one otherwise', () => {
    const c = call({ stream: true }, { ...target, basePath: '/anthropic' });
    expect(c).toMatchObject({ method: 'POST', path: '/anthropic/v1/messages', headers: { 'content-type': 'application/json', accept: 'text/event-stream', 'anthropic-version': '2023-06-01' } });
    expect(call({}, { ...target, apiVersion: '2026-10-21' }).headers['anthropic-version']).toBe('2026-10-21');
    expect(JSON.stringify(call({}).headers)).not.toMatch(/x-api-key|authorization/i);
  });

  it('a minimal request', () => {
    expect(bodyOf({})).toEqual({ model: 'claude-sonnet-4-5', max_tokens: 100, messages: [{ role: 'user', content: 'Hi' }] });
    expect(bodyOf({ stream: true, stream_options: { include_usage: true } })).toMatchObject({ stream: true });
  });

  it('max_tokens: max_completion_tokens wins, else max_tokens, else the target default, else a 400', () => {
    expect(bodyOf({ max_tokens: 5, max_completion_tokens: 9 }).max_tokens).toBe(9);
    const noMax = { max_tokens: undefined };
    expect(bodyOf(noMax, { ...target, defaultMaxTokens: 4096 }).max_tokens).toBe(4096);
    const err = refusal(noMax);
    expect(err.code).toBe('invalid_request');
    expect(err.param).toBe('max_tokens');
  });

  it('system and developer messages, wherever they are, join the top-level system', () => {
    const body = bodyOf({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
        { role: 'developer', content: [{ type: 'text', text: 'No emojis.' }] },
      ],
    });
    expect(body.system).toEqual([{ type: 'text', text: 'Be brief.' }, { type: 'text', text: 'No emojis.' }]);
    expect(body.messages).toEqual([{ role: 'user', content: 'Hi' }]);
    expect(bodyOf({ messages: [{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }] }).system).toBe('Be brief.');
  });

  it('images: data URLs → base64 source, http URLs → url source; other parts refused', () => {
    const body = bodyOf({
      messages: [{ role: 'user', content: [
        { type: 'text', text: 'What is this?' },
        { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgo=' } },
        { type: 'image_url', image_url: { url: 'https://example.com/cat.jpg', detail: 'high' } },
      ] }],
    });
    expect(body.messages).toEqual([{ role: 'user', content: [
      { type: 'text', text: 'What is this?' },
      { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBORw0KGgo=' } },
      { type: 'image', source: { type: 'url', url: 'https://example.com/cat.jpg' } },
    ] }]);
    expect(refusal({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/bmp;base64,AAAA' } }] }] }).param).toBe('messages[0].content[0].image_url.url');
    expect(refusal({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: {} }] }] }).param).toBe('messages[0].content[0].type');
  });

  it('tool calls and results: tool_use blocks with object input, one user turn of tool_result blocks for parallel calls', () => {
    const body = bodyOf({
      messages: [
        { role: 'user', content: 'Weather in Paris and Rome?' },
        { role: 'assistant', content: 'Checking.', tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'weather', arguments: '' } },
        ] },
        { role: 'tool', tool_call_id: 'call_1', content: '14°C' },
        { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: '18°C' }] },
        { role: 'user', content: 'Thanks' },
      ],
    });
    expect(body.messages).toEqual([
      { role: 'user', content: 'Weather in Paris and Rome?' },
      { role: 'assistant', content: [
        { type: 'text', text: 'Checking.' },
        { type: 'tool_use', id: 'call_1', name: 'weather', input: { city: 'Paris' } },
        { type: 'tool_use', id: 'call_2', name: 'weather', input: {} },
      ] },
      { role: 'user', content: [
        { type: 'tool_result', tool_use_id: 'call_1', content: '14°C' },
        { type: 'tool_result', tool_use_id: 'call_2', content: [{ type: 'text', text: '18°C' }] },
        { type: 'text', text: 'Thanks' },
      ] },
    ]);
    const bad = refusal({ messages: [{ role: 'user', content: 'x' }, { role: 'assistant', tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] });
    expect(bad.param).toBe('messages[1].tool_calls[0].function.arguments');
  });

  it('tools, tool_choice and parallel_tool_calls', () => {
    const tools = [{ type: 'function', function: { name: 'weather', description: 'Get weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }, { type: 'function', function: { name: 'noargs' } }];
    expect(bodyOf({ tools }).tools).toEqual([
      { name: 'weather', description: 'Get weather', input_schema: { type: 'object', properties: { city: { type: 'string' } } } },
      { name: 'noargs', input_schema: { type: 'object', properties: {} } },
    ]);
    expect(bodyOf({ tools, tool_choice: 'auto' }).tool_choice).toEqual({ type: 'auto' });
    expect(bodyOf({ tools, tool_choice: 'required' }).tool_choice).toEqual({ type: 'any' });
    expect(bodyOf({ tools, tool_choice: 'none' }).tool_choice).toEqual({ type: 'none' });
    expect(bodyOf({ tools, tool_choice: { type: 'function', function: { name: 'weather' } }, parallel_tool_calls: false }).tool_choice).toEqual({ type: 'tool', name: 'weather', disable_parallel_tool_use: true });
    expect(bodyOf({ tools, parallel_tool_calls: false }).tool_choice).toEqual({ type: 'auto', disable_parallel_tool_use: true });
    expect(refusal({ tools: [{ type: 'custom', custom: { name: 'x' } }] }).param).toBe('tools[0].type');
  });

  it('stop, temperature, top_p, user and json_schema response_format are translated', () => {
    expect(bodyOf({ stop: 'END', temperature: 0.2, top_p: 0.9, user: 'u-1' })).toMatchObject({ stop_sequences: ['END'], temperature: 0.2, top_p: 0.9, metadata: { user_id: 'u-1' } });
    expect(bodyOf({ stop: ['a', 'b'] }).stop_sequences).toEqual(['a', 'b']);
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    expect(bodyOf({ response_format: { type: 'json_schema', json_schema: { name: 'x', schema, strict: true } } }).output_config).toEqual({ format: { type: 'json_schema', schema } });
    expect(bodyOf({ response_format: { type: 'text' }, store: true, metadata: { k: 'v' } })).not.toHaveProperty('output_config');
  });

  it.each([
    [{ n: 2 }, 'n'],
    [{ logprobs: true }, 'logprobs'],
    [{ logit_bias: { '50256': -100 } }, 'logit_bias'],
    [{ presence_penalty: 0.5 }, 'presence_penalty'],
    [{ frequency_penalty: 1 }, 'frequency_penalty'],
    [{ response_format: { type: 'json_object' } }, 'response_format'],
    [{ reasoning_effort: 'high' }, 'reasoning_effort'],
    [{ modalities: ['audio'] }, 'modalities'],
    [{ messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role'],
  ])('%j is refused with a 400 naming %s, never dropped', (extra, param) => {
    const err = refusal(extra);
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
    expect(err.message).toContain(param.split('[')[0]!);
  });

  it('seed, store, metadata and prompt-cache hints are ignored and reported on the call, not sent', () => {
    const c = call({ seed: 7, store: true, metadata: { k: 'v' }, prompt_cache_key: 'p', top_k: 5 });
    expect(c.ignoredParams).toEqual(['seed', 'store', 'metadata', 'prompt_cache_key']);
    expect(JSON.parse(c.body)).toMatchObject({ top_k: 5 });
    expect(JSON.parse(c.body)).not.toHaveProperty('seed');
  });

  it('temperature above 1 is refused rather than rescaled; neutral values of unsupported knobs pass', () => {
    expect(refusal({ temperature: 1.5 }).param).toBe('temperature');
    expect(bodyOf({ n: 1, logprobs: false, presence_penalty: 0 })).not.toHaveProperty('n');
  });
});

describe('anthropicAdapter.errorInfo', () => {
  it.each([
    [400, { type: 'error', error: { type: 'invalid_request_error', message: 'max_tokens: Field required' } }, 'invalid_request_error', 'max_tokens: Field required'],
    [401, { type: 'error', error: { type: 'authentication_error', message: 'invalid x-api-key' } }, 'authentication_error', 'invalid x-api-key'],
    [404, { type: 'error', error: { type: 'not_found_error', message: 'model: claude-x' } }, 'not_found_error', 'model: claude-x'],
    [429, { type: 'error', error: { type: 'rate_limit_error', message: 'Number of request tokens has exceeded your per-minute rate limit' }, request_id: 'req_1' }, 'rate_limit_error', 'Number of request tokens has exceeded your per-minute rate limit'],
    [529, { type: 'error', error: { type: 'overloaded_error', message: 'Overloaded' } }, 'server_error', 'Overloaded'],
    [502, '<html>Bad gateway</html>', 'server_error', '<html>Bad gateway</html>'],
    [500, '', 'server_error', 'upstream answered 500'],
  ])('%i %j', (status, body, type, message) => {
    expect(anthropicAdapter.errorInfo(status, body)).toEqual({ message, type, code: null, param: null });
  });

  it('scrubs key-shaped strings from upstream messages', () => {
    expect(anthropicAdapter.errorInfo(401, { type: 'error', error: { type: 'authentication_error', message: 'bad key sk-ant-api03-abcdefghijklmnopqrstuvwxyz0123456789' } }).message).not.toContain('abcdefghijklmnop');
  });
});

describe('golden translations (Anthropic → OpenAI), reviewed and committed under golden/', () => {
  it.each(streams.map((s) => s.file))('%s → OpenAI chunks', async (file) => {
    const { chunks } = replay(sseBytes(file), []);
    await expect(`${JSON.stringify(chunks, null, 1)}\n`).toMatchFileSnapshot(`./golden/${file.replace('.chunks.txt', '.openai-chunks.json')}`);
  });

  it.each(['anthropic-text.json', 'anthropic-tool-no-args.json', 'anthropic-json-tool.1.json', 'anthropic-refusal.json', 'anthropic-clear-thinking.1.json'])('%s → OpenAI completion', async (file) => {
    const { completion } = anthropicAdapter.chatResponse(JSON.parse(fixture(file)), ctx());
    await expect(`${JSON.stringify(completion, null, 1)}\n`).toMatchFileSnapshot(`./golden/${file.replace('.json', '.openai-completion.json')}`);
  });
});

describe('Anthropic model in responses', () => {
  it('the model Anthropic says answered is reported (JSON and message_start); the client still sees the alias', () => {
    const message = { type: 'message', id: 'msg_1', role: 'assistant', model: 'claude-sonnet-4-5-20250929', content: [{ type: 'text', text: 'hi' }], stop_reason: 'end_turn', usage: { input_tokens: 1, output_tokens: 1 } };
    const json = anthropicAdapter.chatResponse(message, ctx());
    expect([json.completion.model, json.upstreamModel]).toEqual(['claude', 'claude-sonnet-4-5-20250929']);
    const t = anthropicAdapter.chatStream(ctx());
    t.onEvent({ event: 'message_start', id: undefined, data: JSON.stringify({ type: 'message_start', message: { ...message, content: [] } }) });
    expect(t.upstreamModel?.()).toBe('claude-sonnet-4-5-20250929');
  });
});
