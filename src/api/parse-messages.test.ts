import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error.js';
import { parseMessagesRequest } from './parse-messages.js';

const base = { model: 'claude', max_tokens: 64, messages: [{ role: 'user', content: 'Hi' }] };
const parse = (extra: Record<string, unknown>) => parseMessagesRequest({ ...base, ...extra });

function rejected(body: unknown): GatewayError {
  try {
    parseMessagesRequest(body);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

describe('parseMessagesRequest: validation', () => {
  it.each([
    [{ ...base, max_tokens: undefined }, 'max_tokens'],
    [{ ...base, max_tokens: 0 }, 'max_tokens'],
    [{ ...base, messages: [] }, 'messages'],
    [{ ...base, messages: [{ role: 'tool', content: 'x' }] }, 'messages[0].role'],
    [{ ...base, temperature: 1.5 }, 'temperature'],
    [{ ...base, tool_choice: { type: 'tool' } }, 'tool_choice.name'],
    [{ ...base, model: '' }, 'model'],
    [{ ...base, api_key: 'x' }, 'api_key'],
  ])('%j → 400 naming %s', (body, param) => {
    const err = rejected(body);
    expect(err.status).toBe(400);
    expect(err.param).toBe(param);
  });

  it('anthropic-beta: a list of beta names is kept (joined when repeated), anything else is a 400', () => {
    expect(parseMessagesRequest(base, 'a-2025-01-01, b-2025-02-02').betas).toBe('a-2025-01-01, b-2025-02-02');
    expect(parseMessagesRequest(base, ['a-2025-01-01', 'b']).betas).toBe('a-2025-01-01,b');
    expect(parseMessagesRequest(base).betas).toBeUndefined();
    try {
      parseMessagesRequest(base, 'bad\r\nx-injected: 1');
      throw new Error('expected a GatewayError');
    } catch (err) {
      expect((err as GatewayError).param).toBe('anthropic-beta');
    }
  });

  it('keeps the validated body as sent for Anthropic deployments', () => {
    const body = { ...base, thinking: { type: 'enabled', budget_tokens: 2048 }, system: [{ type: 'text', text: 'S', cache_control: { type: 'ephemeral' } }] };
    const r = parseMessagesRequest(body);
    expect(r.native).toEqual(body);
    expect(Object.isFrozen(r.native)).toBe(true);
    expect(r.untranslatable).toBe('thinking');
    expect(r).toMatchObject({ model: 'claude', stream: false, includeUsage: true });
  });
});

describe('parseMessagesRequest: the OpenAI form', () => {
  it('system, text, images, tool use and tool results', () => {
    const r = parse({
      system: [{ type: 'text', text: 'Be brief.', cache_control: { type: 'ephemeral' } }],
      messages: [
        { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: 'iVBOR' } }, { type: 'image', source: { type: 'url', url: 'https://x/cat.jpg' } }] },
        { role: 'assistant', content: [{ type: 'thinking', thinking: 'hmm', signature: 's' }, { type: 'text', text: 'Let me check.' }, { type: 'tool_use', id: 'toolu_1', name: 'look', input: { q: 'cat' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'text', text: 'a cat' }] }, { type: 'text', text: 'And?' }] },
      ],
    });
    expect(r.untranslatable).toBeUndefined();
    expect(r.chat.messages).toEqual([
      { role: 'system', content: [{ type: 'text', text: 'Be brief.' }] },
      { role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBOR' } }, { type: 'image_url', image_url: { url: 'https://x/cat.jpg' } }] },
      { role: 'assistant', content: 'Let me check.', tool_calls: [{ id: 'toolu_1', type: 'function', function: { name: 'look', arguments: '{"q":"cat"}' } }] },
      { role: 'tool', tool_call_id: 'toolu_1', content: 'a cat' },
      { role: 'user', content: [{ type: 'text', text: 'And?' }] },
    ]);
  });

  it('parameters: max_tokens, stop, sampling, user, tools, tool_choice, structured output, stream with usage', () => {
    const schema = { type: 'object', properties: { a: { type: 'string' } } };
    const r = parse({
      stream: true,
      stop_sequences: ['END'],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      metadata: { user_id: 'u1' },
      tools: [{ name: 'look', description: 'Look it up', input_schema: schema }],
      tool_choice: { type: 'any', disable_parallel_tool_use: true },
      output_config: { format: { type: 'json_schema', schema } },
    });
    expect(r.chat.body).toEqual({
      model: 'claude',
      max_completion_tokens: 64,
      messages: [{ role: 'user', content: 'Hi' }],
      stream: true,
      stream_options: { include_usage: true },
      stop: ['END'],
      temperature: 0.5,
      top_p: 0.9,
      top_k: 40,
      user: 'u1',
      tools: [{ type: 'function', function: { name: 'look', description: 'Look it up', parameters: schema } }],
      tool_choice: 'required',
      parallel_tool_calls: false,
      response_format: { type: 'json_schema', json_schema: { name: 'output', schema, strict: true } },
    });
    expect(r.chat).toMatchObject({ stream: true, includeUsage: true, maxOutputTokens: 64, n: 1 });
    expect(parse({ tool_choice: { type: 'tool', name: 'look' } }).chat.body.tool_choice).toEqual({ type: 'function', function: { name: 'look' } });
    expect(parse({ tool_choice: { type: 'none' } }).chat.body.tool_choice).toBe('none');
  });

  it.each([
    [{ thinking: { type: 'enabled', budget_tokens: 1024 } }, 'thinking'],
    [{ tools: [{ type: 'web_search_20250305', name: 'web_search' }] }, 'tools[0]'],
    [{ messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', data: 'x' } }] }] }, 'messages[0].content[0].type'],
    [{ mcp_servers: [{ url: 'x' }] }, 'mcp_servers'],
    [{ output_config: { effort: 'high' } }, 'output_config.effort'],
    [{ service_tier: 'standard_only' }, 'service_tier'],
  ])('%j is Anthropic-only: noted as %s', (extra, param) => {
    expect(parse(extra).untranslatable).toBe(param);
  });

  it('neutral values are not noted', () => {
    expect(parse({ thinking: { type: 'disabled' }, service_tier: 'auto' }).untranslatable).toBeUndefined();
  });
});

describe('parseMessagesRequest: malformed blocks and tool results (issue 10 §6)', () => {
  const call = { type: 'tool_use', id: 'toolu_1', name: 'weather', input: { city: 'Paris' } };
  const turn = (assistant: unknown[], user: unknown[]) => ({ ...base, messages: [{ role: 'user', content: 'Go' }, { role: 'assistant', content: assistant }, { role: 'user', content: user }] });
  const result = (extra: Record<string, unknown>) => ({ type: 'tool_result', tool_use_id: 'toolu_1', content: 'sunny', ...extra });

  it.each([
    ['a text block whose text is not a string', { ...base, messages: [{ role: 'user', content: [{ type: 'text', text: 5 }] }] }, 'messages[0].content[0].text'],
    ['an assistant text block without text', turn([{ type: 'text' }], [result({})]), 'messages[1].content[0].text'],
    ['a tool_use without an id', turn([{ ...call, id: undefined }], [result({})]), 'messages[1].content[0].id'],
    ['a tool_use whose input is not an object', turn([{ ...call, input: 'city=Paris' }], [result({})]), 'messages[1].content[0].input'],
    ['a tool_use whose input is a list', turn([{ ...call, input: [1] }], [result({})]), 'messages[1].content[0].input'],
    ['a tool_result whose tool_use_id is not a string', turn([call], [result({ tool_use_id: 7 })]), 'messages[2].content[0].tool_use_id'],
    ['a tool_result whose is_error is not a boolean', turn([call], [result({ is_error: 'yes' })]), 'messages[2].content[0].is_error'],
    ['a tool_result whose content is a number', turn([call], [result({ content: 3 })]), 'messages[2].content[0].content'],
    ['an image without a source', { ...base, messages: [{ role: 'user', content: [{ type: 'image' }] }] }, 'messages[0].content[0].source'],
    ['a base64 image without data', { ...base, messages: [{ role: 'user', content: [{ type: 'image', source: { type: 'base64', media_type: 'image/png' } }] }] }, 'messages[0].content[0].source.data'],
  ])('%s → 400 invalid_request naming it (not "Anthropic-only")', (_name, body, param) => {
    const err = rejected(body);
    expect(err.status).toBe(400);
    expect(err.code).toBe('invalid_request');
    expect(err.param).toBe(param);
  });

  it('is_error: true reaches the OpenAI tool message as text the model reads; false and absent leave the text as is', () => {
    const tools = (extra: Record<string, unknown>) => parseMessagesRequest(turn([call], [result(extra)])).chat.messages.find((m) => m.role === 'tool');
    expect(tools({ is_error: true })).toEqual({ role: 'tool', tool_call_id: 'toolu_1', content: 'Error: sunny' });
    expect(tools({ is_error: false })?.content).toBe('sunny');
    expect(tools({})?.content).toBe('sunny');
  });

  it('a well-formed tool_use keeps its input; Anthropic-only blocks are still only noted', () => {
    const r = parseMessagesRequest(turn([call], [result({}), { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: 'JVBER' } }]));
    expect(r.chat.messages[1]!.tool_calls?.[0]?.function.arguments).toBe('{"city":"Paris"}');
    expect(r.untranslatable).toBe('messages[2].content[1].type');
  });
});
