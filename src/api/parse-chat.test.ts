import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error.js';
import { parseChatRequest, requestCaps } from './parse-chat.js';

const user = { role: 'user', content: 'Hello' };

function valid(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'gpt-mini', messages: [user], ...extra };
}

function errorOf(body: unknown): GatewayError {
  try {
    parseChatRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

function without(key: string): Record<string, unknown> {
  const b = valid();
  delete b[key];
  return b;
}

describe('parseChatRequest: valid bodies', () => {
  it.each([
    { name: 'minimal', body: valid() },
    { name: 'all roles', body: valid({ messages: ['system', 'developer', 'user', 'assistant', 'tool', 'function'].map((role) => ({ role, content: 'x' })) }) },
    { name: 'null content', body: valid({ messages: [{ role: 'assistant', content: null }] }) },
    { name: 'content parts', body: valid({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] }) },
    {
      name: 'assistant tool call + tool answer',
      body: valid({
        messages: [
          user,
          { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
          { role: 'tool', tool_call_id: 'call_1', content: '42' },
        ],
      }),
    },
    { name: 'nulls everywhere', body: valid({ stream: null, stream_options: null, max_tokens: null, max_completion_tokens: null, n: null, temperature: null, top_p: null, stop: null }) },
    { name: 'edge values', body: valid({ max_tokens: 1, n: requestCaps.maxChoices, temperature: 2, top_p: 0, stop: ['a', 'b', 'c', 'd'] }) },
    { name: 'max output tokens at the cap', body: valid({ max_completion_tokens: requestCaps.maxOutputTokens }) },
    { name: 'stop as a string', body: valid({ stop: '\n' }) },
    { name: 'stream with options', body: valid({ stream: true, stream_options: { include_usage: true } }) },
    { name: 'model with punctuation', body: valid({ model: 'meta-llama/Llama-3.1-8B-Instruct:free' }) },
    { name: 'model of 256 characters', body: valid({ model: 'm'.repeat(requestCaps.maxModelNameLength) }) },
  ])('$name', ({ body }) => {
    const r = parseChatRequest(body);
    expect(r.model).toBe(body.model);
    expect(r.messages).toEqual(body.messages);
  });
});

describe('parseChatRequest: invalid fields → invalid_request with param', () => {
  it.each([
    { name: 'model missing', body: without('model'), param: 'model' },
    { name: 'model empty', body: valid({ model: '' }), param: 'model' },
    { name: 'model not a string', body: valid({ model: 42 }), param: 'model' },
    { name: 'model with spaces', body: valid({ model: 'gpt mini' }), param: 'model' },
    { name: 'model with a tab', body: valid({ model: 'gpt\tmini' }), param: 'model' },
    { name: 'model non-ASCII', body: valid({ model: 'gpt-mïni' }), param: 'model' },
    { name: 'model with zero-width space', body: valid({ model: 'gpt\u200bmini' }), param: 'model' },
    { name: 'model too long', body: valid({ model: 'm'.repeat(requestCaps.maxModelNameLength + 1) }), param: 'model' },
    { name: 'messages missing', body: without('messages'), param: 'messages' },
    { name: 'messages a string', body: valid({ messages: 'Hello' }), param: 'messages' },
    { name: 'messages empty', body: valid({ messages: [] }), param: 'messages' },
    { name: 'messages too many', body: valid({ messages: Array.from({ length: requestCaps.maxMessages + 1 }, () => user) }), param: 'messages' },
    { name: 'message not an object', body: valid({ messages: [user, 'hi'] }), param: 'messages[1]' },
    { name: 'role invalid', body: valid({ messages: [{ role: 'wizard', content: 'x' }] }), param: 'messages[0].role' },
    { name: 'role missing', body: valid({ messages: [user, { content: 'x' }] }), param: 'messages[1].role' },
    { name: 'content a number', body: valid({ messages: [{ role: 'user', content: 5 }] }), param: 'messages[0].content' },
    { name: 'tool call without id', body: valid({ messages: [{ role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'f', arguments: '{}' } }] }] }), param: 'messages[0].tool_calls[0].id' },
    { name: 'max_tokens "9"', body: valid({ max_tokens: '9' }), param: 'max_tokens' },
    { name: 'max_tokens -1', body: valid({ max_tokens: -1 }), param: 'max_tokens' },
    { name: 'max_tokens 0', body: valid({ max_tokens: 0 }), param: 'max_tokens' },
    { name: 'max_tokens 2e6', body: valid({ max_tokens: 2e6 }), param: 'max_tokens' },
    { name: 'max_tokens 1.5', body: valid({ max_tokens: 1.5 }), param: 'max_tokens' },
    { name: 'max_completion_tokens 0', body: valid({ max_completion_tokens: 0 }), param: 'max_completion_tokens' },
    { name: 'n 0', body: valid({ n: 0 }), param: 'n' },
    { name: 'n 9', body: valid({ n: 9 }), param: 'n' },
    { name: 'n 1000', body: valid({ n: 1000 }), param: 'n' },
    { name: 'n "2"', body: valid({ n: '2' }), param: 'n' },
    { name: 'temperature 3', body: valid({ temperature: 3 }), param: 'temperature' },
    { name: 'temperature -0.1', body: valid({ temperature: -0.1 }), param: 'temperature' },
    { name: 'top_p 1.5', body: valid({ top_p: 1.5 }), param: 'top_p' },
    { name: 'stream "yes"', body: valid({ stream: 'yes' }), param: 'stream' },
    { name: 'stream 1', body: valid({ stream: 1 }), param: 'stream' },
    { name: 'stop with 5 items', body: valid({ stop: ['a', 'b', 'c', 'd', 'e'] }), param: 'stop' },
    { name: 'stop a number', body: valid({ stop: 3 }), param: 'stop' },
    { name: 'stream_options unknown key', body: valid({ stream: true, stream_options: { include_usage: true, extra: 1 } }), param: 'stream_options' },
    { name: 'user too long', body: valid({ user: 'u'.repeat(257) }), param: 'user' },
  ])('$name → param $param', ({ body, param }) => {
    const err = errorOf(body);
    expect(err.code).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.type).toBe('invalid_request_error');
    expect(err.param).toBe(param);
    expect(err.message).toContain(param);
  });

  it('a missing field says it is required', () => {
    expect(errorOf(without('messages')).message).toMatch(/required/);
  });

  it.each([
    { name: 'stream absent', body: valid({ stream_options: { include_usage: true } }) },
    { name: 'stream false', body: valid({ stream: false, stream_options: { include_usage: true } }) },
    { name: 'stream null', body: valid({ stream: null, stream_options: {} }) },
  ])('stream_options without stream → 400 ($name)', ({ body }) => {
    const err = errorOf(body);
    expect(err.code).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.param).toBe('stream_options');
  });

  it('stream_options: null without stream is fine', () => {
    expect(parseChatRequest(valid({ stream_options: null })).stream).toBe(false);
  });
});

describe('parseChatRequest: refused and non-object bodies', () => {
  it.each(['api_base', 'base_url', 'api_key', 'api_version', 'custom_llm_provider', 'extra_headers', 'headers'])(
    '%s → unsupported_parameter naming it',
    (field) => {
      const err = errorOf(valid({ [field]: 'http://evil.example' }));
      expect(err.code).toBe('unsupported_parameter');
      expect(err.status).toBe(400);
      expect(err.param).toBe(field);
      expect(err.message).not.toContain('evil.example');
    },
  );

  it('a refused field wins even when other fields are invalid too', () => {
    const err = errorOf({ api_key: 'sk-x', messages: 'oops' });
    expect(err.code).toBe('unsupported_parameter');
    expect(err.param).toBe('api_key');
  });

  it.each([null, [], 'text', 42, true, undefined])('body %j → invalid_json', (body) => {
    const err = errorOf(body);
    expect(err.code).toBe('invalid_json');
    expect(err.status).toBe(400);
  });
});

describe('parseChatRequest: derived fields', () => {
  it.each([
    { body: valid(), stream: false, includeUsage: false },
    { body: valid({ stream: false }), stream: false, includeUsage: false },
    { body: valid({ stream: true }), stream: true, includeUsage: false },
    { body: valid({ stream: true, stream_options: {} }), stream: true, includeUsage: false },
    { body: valid({ stream: true, stream_options: { include_usage: false } }), stream: true, includeUsage: false },
    { body: valid({ stream: true, stream_options: { include_usage: true } }), stream: true, includeUsage: true },
    { body: valid({ stream: true, stream_options: null }), stream: true, includeUsage: false },
  ])('stream/includeUsage for $body.stream / $body.stream_options', ({ body, stream, includeUsage }) => {
    const r = parseChatRequest(body);
    expect(r.stream).toBe(stream);
    expect(r.includeUsage).toBe(includeUsage);
  });

  it.each([
    { extra: {}, expected: undefined },
    { extra: { max_tokens: 100 }, expected: 100 },
    { extra: { max_completion_tokens: 50 }, expected: 50 },
    { extra: { max_tokens: 100, max_completion_tokens: 50 }, expected: 50 },
    { extra: { max_tokens: 10, max_completion_tokens: 500 }, expected: 500 },
    { extra: { max_tokens: 100, max_completion_tokens: null }, expected: 100 },
    { extra: { max_tokens: null, max_completion_tokens: null }, expected: undefined },
  ])('maxOutputTokens for $extra = $expected', ({ extra, expected }) => {
    expect(parseChatRequest(valid(extra)).maxOutputTokens).toBe(expected);
  });

  it.each([
    { extra: {}, n: 1 },
    { extra: { n: null }, n: 1 },
    { extra: { n: 1 }, n: 1 },
    { extra: { n: 3 }, n: 3 },
    { extra: { n: 8 }, n: 8 },
  ])('n for $extra = $n', ({ extra, n }) => {
    expect(parseChatRequest(valid(extra)).n).toBe(n);
  });

  it('unknown fields are kept in body (top level, message and part level)', () => {
    const body = valid({
      tools: [{ type: 'function', function: { name: 'f', parameters: {} } }],
      seed: 7,
      logit_bias: { '50256': -100 },
      reasoning_effort: 'low',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'x', cache_control: { type: 'ephemeral' } }], custom: true }],
    });
    const r = parseChatRequest(body);
    expect(r.body).toEqual(body);
    expect(r.body.reasoning_effort).toBe('low');
    expect(r.messages[0]?.custom).toBe(true);
  });

  it('the request and its body are frozen', () => {
    const r = parseChatRequest(valid());
    expect(Object.isFrozen(r)).toBe(true);
    expect(Object.isFrozen(r.body)).toBe(true);
  });
});
