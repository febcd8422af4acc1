import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseChatRequest } from '../../api/parse-chat.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { converseValidationError } from '../../testing/fake-upstream/bedrock-validate.js';
import { UpstreamProtocolError, type ResponseContext, type TargetInfo } from '../types.js';
import { catalogPrice } from '../../spend/catalog.js';
import { formatUsd } from '../../spend/money.js';
import { costOf } from '../../spend/price.js';
import { bedrockAdapter } from './adapter.js';
import { chatUpstreamCall } from '../parameter-policy.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);
const target: TargetInfo = { upstreamModel: 'anthropic.claude-3-5-sonnet-20240620-v1:0', basePath: '' };
const ctx: ResponseContext = { id: 'chatcmpl-x', created: 1, model: 'alias', includeUsage: false, promptTokensEstimate: 9 };
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

function call(body: Record<string, unknown>, t: TargetInfo = target) {
  const c = chatUpstreamCall(bedrockAdapter, parseChatRequest({ model: 'alias', messages: [{ role: 'user', content: 'hi' }], ...body }), t);
  return { ...c, json: JSON.parse(c.body) as Record<string, any> };
}

function refused(body: Record<string, unknown>): GatewayError {
  try {
    call(body);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  return expect.fail('expected a GatewayError');
}

describe('Bedrock request translation', () => {
  it('addresses the Converse routes with the model id URL-encoded (ids, inference profiles, ARNs)', () => {
    expect(call({}).path).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse');
    expect(call({ stream: true }).path).toBe('/model/anthropic.claude-3-5-sonnet-20240620-v1%3A0/converse-stream');
    expect(call({ stream: true }).headers).toMatchObject({ 'content-type': 'application/json', accept: 'application/vnd.amazon.eventstream' });
    const arn = 'arn:aws:bedrock:us-east-1:123456789012:inference-profile/us.anthropic.claude-3-7-sonnet-20250219-v1:0';
    expect(call({}, { upstreamModel: arn, basePath: '/prefix' }).path).toBe(
      '/prefix/model/arn%3Aaws%3Abedrock%3Aus-east-1%3A123456789012%3Ainference-profile%2Fus.anthropic.claude-3-7-sonnet-20250219-v1%3A0/converse',
    );
  });

  it('system and developer messages → system blocks; turns alternate; parameters → inferenceConfig', () => {
    const { json } = call({
      messages: [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'one' },
        { role: 'user', content: [{ type: 'text', text: 'two' }] },
        { role: 'developer', content: [{ type: 'text', text: 'Use metric units.' }] },
        { role: 'assistant', content: 'three' },
        { role: 'user', content: 'four' },
      ],
      max_completion_tokens: 100,
      max_tokens: 50,
      temperature: 0.2,
      top_p: 0.9,
      stop: 'END',
      metadata: { team: 'search' },
      user: 'u-1',
    });
    expect(json).toEqual({
      messages: [
        { role: 'user', content: [{ text: 'one' }, { text: 'two' }] },
        { role: 'assistant', content: [{ text: 'three' }] },
        { role: 'user', content: [{ text: 'four' }] },
      ],
      system: [{ text: 'Be brief.' }, { text: 'Use metric units.' }],
      inferenceConfig: { maxTokens: 100, temperature: 0.2, topP: 0.9, stopSequences: ['END'] },
      requestMetadata: { team: 'search' },
    });
    expect(converseValidationError(json)).toBeUndefined();
    expect(call({ stop: ['a', 'b'] }).json.inferenceConfig).toEqual({ stopSequences: ['a', 'b'] });
    expect(call({}).json).toEqual({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] });
  });

  it('images from data: URLs become image bytes; links are refused', () => {
    const { json } = call({
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] }],
    });
    expect(json.messages[0].content[1]).toEqual({ image: { format: 'png', source: { bytes: PNG } } });
    expect(converseValidationError(json)).toBeUndefined();
    const jpeg = call({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'data:image/jpg;base64,AAAA' } }] }] }).json;
    expect(jpeg.messages[0].content[0].image.format).toBe('jpeg');
    const err = refused({ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://example.com/cat.png' } }] }] });
    expect([err.status, err.code, err.param]).toEqual([400, 'unsupported_parameter', 'messages[0].content[0].image_url.url']);
    expect(refused({ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA', format: 'wav' } }] }] }).param).toBe('messages[0].content[0]');
  });

  it('tools, tool_choice, tool calls and tool results', () => {
    const tools = [
      { type: 'function', function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } } } } },
      { type: 'function', function: { name: 'no_params' } },
    ];
    const messages = [
      { role: 'user', content: 'Weather in Paris and Rome?' },
      {
        role: 'assistant',
        content: null,
        tool_calls: [
          { id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } },
          { id: 'call_2', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Rome"}' } },
        ],
      },
      { role: 'tool', tool_call_id: 'call_1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'call_2', content: [{ type: 'text', text: 'rain' }] },
    ];
    const { json } = call({ tools, tool_choice: 'auto', messages });
    expect(json.toolConfig).toEqual({
      tools: [
        { toolSpec: { name: 'get_weather', description: 'Weather for a city', inputSchema: { json: { type: 'object', properties: { city: { type: 'string' } } } } } },
        { toolSpec: { name: 'no_params', inputSchema: { json: { type: 'object', properties: {} } } } },
      ],
      toolChoice: { auto: {} },
    });
    expect(json.messages).toEqual([
      { role: 'user', content: [{ text: 'Weather in Paris and Rome?' }] },
      {
        role: 'assistant',
        content: [
          { toolUse: { toolUseId: 'call_1', name: 'get_weather', input: { city: 'Paris' } } },
          { toolUse: { toolUseId: 'call_2', name: 'get_weather', input: { city: 'Rome' } } },
        ],
      },
      // Parallel results merge into one user turn, as Converse requires.
      {
        role: 'user',
        content: [
          { toolResult: { toolUseId: 'call_1', content: [{ text: 'sunny' }] } },
          { toolResult: { toolUseId: 'call_2', content: [{ text: 'rain' }] } },
        ],
      },
    ]);
    expect(converseValidationError(json)).toBeUndefined();
    expect(call({ tools, tool_choice: 'required' }).json.toolConfig.toolChoice).toEqual({ any: {} });
    expect(call({ tools, tool_choice: { type: 'function', function: { name: 'no_params' } } }).json.toolConfig.toolChoice).toEqual({ tool: { name: 'no_params' } });
    expect(call({ tools }).json.toolConfig.toolChoice).toBeUndefined();
    // "none" without tool history: the tools are simply not offered.
    expect(call({ tools, tool_choice: 'none' }).json.toolConfig).toBeUndefined();
    expect(refused({ tools, tool_choice: 'none', messages }).param).toBe('tool_choice');
    expect(refused({ messages }).param).toBe('tools');
    expect(refused({ tools: [{ type: 'custom', custom: { name: 'x' } }] }).param).toBe('tools[0]');
    const bad = { role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{not json' } }] };
    expect(refused({ tools, messages: [{ role: 'user', content: 'x' }, bad] }).param).toBe('messages[1].tool_calls[0].function.arguments');
  });

  it('response_format json_schema → outputConfig.textFormat with the schema as a JSON string', () => {
    const schema = { type: 'object', properties: { answer: { type: 'string' } }, required: ['answer'], additionalProperties: false };
    const { json } = call({ response_format: { type: 'json_schema', json_schema: { name: 'Answer', schema, strict: true } } });
    expect(json.outputConfig).toEqual({ textFormat: { type: 'json_schema', structure: { jsonSchema: { schema: JSON.stringify(schema), name: 'Answer' } } } });
    expect(converseValidationError(json)).toBeUndefined();
    expect(call({ response_format: { type: 'text' } }).json.outputConfig).toBeUndefined();
    const err = refused({ response_format: { type: 'json_object' } });
    expect([err.code, err.param]).toEqual(['unsupported_parameter', 'response_format']);
    expect(err.message).toMatch(/Bedrock/);
  });

  it.each([
    [{ n: 2 }, 'n'],
    [{ logprobs: true }, 'logprobs'],
    [{ top_logprobs: 3 }, 'top_logprobs'],
    [{ logit_bias: { '1': 5 } }, 'logit_bias'],
    [{ presence_penalty: 0.5 }, 'presence_penalty'],
    [{ frequency_penalty: 0.5 }, 'frequency_penalty'],
    [{ reasoning_effort: 'high' }, 'reasoning_effort'],
    [{ parallel_tool_calls: false }, 'parallel_tool_calls'],
    [{ modalities: ['text', 'audio'] }, 'modalities'],
    [{ audio: { voice: 'alloy', format: 'mp3' } }, 'audio'],
    [{ functions: [{ name: 'f' }] }, 'functions'],
  ])('refuses %j with a 400 naming %s and Bedrock', (body, param) => {
    const err = refused(body);
    expect([err.status, err.code, err.param]).toEqual([400, 'unsupported_parameter', param]);
    expect(err.message).toMatch(/Bedrock/);
  });

  it('ignores what has no Converse equivalent and does not change the answer, and reports it on the call', () => {
    const c = call({ seed: 42, user: 'u', service_tier: 'flex', prediction: { type: 'content', content: 'x' } });
    expect(c.ignoredParams).toEqual(['seed', 'user', 'service_tier', 'prediction']);
    expect(c.json).not.toHaveProperty('seed');
  });

  it('accepts the harmless defaults clients send (n: 1, logprobs: false, nulls, parallel_tool_calls: true)', () => {
    const c = call({ n: 1, logprobs: false, seed: null, temperature: null, parallel_tool_calls: true, stream: false, store: false, service_tier: 'auto' });
    // They ask for nothing Converse would do differently: the body is the conversation alone.
    expect(c.json).toEqual({ messages: [{ role: 'user', content: [{ text: 'hi' }] }] });
  });
});

describe('Bedrock response translation (recorded Converse bodies)', () => {
  const fixture = (name: string): unknown => JSON.parse(readFileSync(new URL(`${name}.json`, FIXTURES), 'utf8'));

  it.each([
    ['amazon-bedrock-text', { content: 'Let me count the "r"s in "strawberry":\n\ns-t-**r**-a-w-b-e-**r**-**r**-y\n\nThere are **3** "r"s in "strawberry."' }, 'stop', [22, 57]],
    ['amazon-bedrock-reasoning', { content: 'There are **3** r\'s in "strawberry":\n\n1. st**r**awbe**r****r**y', reasoning_content: 'Let me count the r\'s in "strawberry":\n\ns-t-r-a-w-b-e-r-r-y\n\nThere are 3 r\'s.' }, 'stop', [51, 78]],
    ['amazon-bedrock-tool-call.1', { content: null, tool_calls: [{ id: 'tool-use-id', type: 'function', function: { name: 'bash', arguments: '{"command":"ls -l"}' } }] }, 'tool_calls', [10, 20]],
    [
      'amazon-bedrock-tool-no-args',
      { content: "I'll update the issue list for you.", tool_calls: [{ id: 'tool-use-id', type: 'function', function: { name: 'updateIssueList', arguments: '{}' } }] },
      'tool_calls',
      [100, 25],
    ],
  ] as const)('%s', (name, message, finish, [prompt, completion]) => {
    const { completion: c, usage } = bedrockAdapter.chatResponse(fixture(name), ctx);
    expect(c).toMatchObject({ id: 'chatcmpl-x', object: 'chat.completion', created: 1, model: 'alias' });
    expect(c.choices).toHaveLength(1);
    expect(c.choices[0]).toMatchObject({ index: 0, finish_reason: finish, logprobs: null, message: { role: 'assistant', refusal: null, ...message } });
    expect(c.usage).toMatchObject({ prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion, prompt_tokens_details: { cached_tokens: 0 } });
    expect(usage).toMatchObject({ promptTokens: prompt, completionTokens: completion, estimated: false });
  });

  it.each([
    ['end_turn', 'stop'],
    ['stop_sequence', 'stop'],
    ['max_tokens', 'length'],
    ['model_context_window_exceeded', 'length'],
    ['tool_use', 'tool_calls'],
    ['guardrail_intervened', 'content_filter'],
    ['content_filtered', 'content_filter'],
    ['malformed_model_output', 'stop'],
  ])('stopReason %s → finish_reason %s', (stopReason, finish) => {
    const body = { output: { message: { role: 'assistant', content: [{ text: 'x' }] } }, stopReason, usage: { inputTokens: 1, outputTokens: 1 } };
    expect(bedrockAdapter.chatResponse(body, ctx).completion.choices[0]?.finish_reason).toBe(finish);
  });

  it('counts cache reads and writes into prompt_tokens; cached_tokens are the reads, cache writes are kept for pricing', () => {
    const body = { output: { message: { role: 'assistant', content: [{ text: 'x' }] } }, stopReason: 'end_turn', usage: { inputTokens: 10, outputTokens: 3, cacheReadInputTokens: 100, cacheWriteInputTokens: 20 } };
    const { completion, usage } = bedrockAdapter.chatResponse(body, ctx);
    expect(completion.usage).toMatchObject({ prompt_tokens: 130, completion_tokens: 3, total_tokens: 133, prompt_tokens_details: { cached_tokens: 100 } });
    expect(usage).toEqual({ promptTokens: 130, completionTokens: 3, cachedTokens: 100, cacheWriteTokens: 20, reasoningTokens: 0, estimated: false });
    // Claude Sonnet 4.5 on Bedrock (global): 10 × $3 + 100 × $0.30 + 20 × $3.75 + 3 × $15 per million.
    const price = catalogPrice('bedrock', 'https://bedrock-runtime.us-east-1.amazonaws.com', 'global.anthropic.claude-sonnet-4-5-20250929-v1:0')!;
    expect(formatUsd(costOf(usage, price))).toBe('0.00018');
  });

  it('estimates (and says so) when usage is missing; refuses bodies without output.message', () => {
    const { usage } = bedrockAdapter.chatResponse({ output: { message: { role: 'assistant', content: [{ text: 'four words right here' }] } }, stopReason: 'end_turn' }, ctx);
    expect(usage).toMatchObject({ promptTokens: 9, estimated: true });
    expect(() => bedrockAdapter.chatResponse({ message: 'hi' }, ctx)).toThrow(UpstreamProtocolError);
  });
});

describe('Bedrock errors', () => {
  const header = (h: Record<string, string>) => (name: string) => h[name];

  it.each([
    [400, 'ValidationException', 'invalid_request_error'],
    [403, 'AccessDeniedException', 'permission_error'],
    [404, 'ResourceNotFoundException', 'not_found_error'],
    [408, 'ModelTimeoutException', 'timeout_error'],
    [429, 'ThrottlingException', 'rate_limit_error'],
    [500, 'InternalServerException', 'server_error'],
    [503, 'ServiceUnavailableException', 'server_error'],
  ])('%i %s → type %s, code from x-amzn-errortype', (status, errorType, type) => {
    const info = bedrockAdapter.errorInfo(status, { message: 'nope' }, header({ 'x-amzn-errortype': `${errorType}:http://internal.amazon.com/coral/com.amazon.bedrock/` }));
    expect(info).toEqual({ message: 'nope', type, code: errorType, param: null });
  });

  it('falls back to __type and Message in the body, and to plain text', () => {
    expect(bedrockAdapter.errorInfo(400, { __type: 'com.amazon.coral.validate#ValidationException', Message: 'bad' })).toMatchObject({ code: 'ValidationException', message: 'bad' });
    expect(bedrockAdapter.errorInfo(502, '<html>gateway</html>')).toMatchObject({ code: null, message: '<html>gateway</html>', type: 'server_error' });
  });

  it('scrubs key-shaped strings from provider messages', () => {
    expect(bedrockAdapter.errorInfo(400, { message: 'bad key sk-abcdefghijklmnopqrstuvwxyz123456' }).message).not.toContain('sk-abcdefghijklmnopqrstuvwxyz123456');
  });
});
