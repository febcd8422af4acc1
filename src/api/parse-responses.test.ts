import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error.js';
import { requestCaps } from './parse-common.js';
import { parseResponsesRequest } from './parse-responses.js';
import type { ResponseItem } from './responses-types.js';

const parse = (extra: Record<string, unknown>, prior?: readonly ResponseItem[]) => parseResponsesRequest({ model: 'm', input: 'Hi', ...extra }, prior);

function refusal(body: unknown, prior?: readonly ResponseItem[]): GatewayError {
  try {
    parseResponsesRequest(body, prior);
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error(`accepted: ${JSON.stringify(body).slice(0, 200)}`);
}

describe('parseResponsesRequest: input', () => {
  it('a string input is one user message item with an id; the chat form has it as a user message after the instructions', () => {
    const r = parse({ instructions: 'Be brief.' });
    expect(r.inputItems).toHaveLength(1);
    expect(r.inputItems[0]).toMatchObject({ type: 'message', role: 'user', content: [{ type: 'input_text', text: 'Hi' }] });
    expect(r.inputItems[0]!.id).toMatch(/^msg_[0-9a-f]{24}$/);
    expect(r.chat.messages).toEqual([{ role: 'system', content: 'Be brief.' }, { role: 'user', content: 'Hi' }]);
    expect(r.instructions).toBe('Be brief.');
    expect(r.untranslatable).toBeUndefined();
  });

  it('message items of every role, short and long form; ids kept or given; parts translated', () => {
    const r = parse({
      input: [
        { role: 'system', content: 'sys' },
        { type: 'message', role: 'developer', content: [{ type: 'input_text', text: 'dev' }] },
        { type: 'message', id: 'msg_mine', role: 'user', content: [{ type: 'input_text', text: 'look' }, { type: 'input_image', image_url: 'data:image/png;base64,AAAA', detail: 'low' }] },
        { role: 'assistant', content: [{ type: 'output_text', text: 'I see', annotations: [] }, { type: 'refusal', refusal: ' but no.' }] },
        { role: 'assistant', content: 'plain' },
      ],
    });
    expect(r.chat.messages).toEqual([
      { role: 'system', content: 'sys' },
      { role: 'developer', content: 'dev' },
      { role: 'user', content: [{ type: 'text', text: 'look' }, { type: 'image_url', image_url: { url: 'data:image/png;base64,AAAA', detail: 'low' } }] },
      { role: 'assistant', content: 'I see but no.' },
      { role: 'assistant', content: 'plain' },
    ]);
    expect(r.inputItems.map((i) => i.id)).toEqual([expect.stringMatching(/^msg_/), expect.stringMatching(/^msg_/), 'msg_mine', expect.stringMatching(/^msg_/), expect.stringMatching(/^msg_/)]);
    expect(r.inputItems[0]).toMatchObject({ type: 'message', content: [{ type: 'input_text', text: 'sys' }] });
    expect(r.inputItems[4]).toMatchObject({ type: 'message', content: [{ type: 'output_text', text: 'plain', annotations: [] }] });
    expect(r.chat.remoteMediaParam).toBeUndefined();
  });

  it('a remote image URL is named for deployments that refuse remote media; a file id cannot be translated', () => {
    expect(parse({ input: [{ role: 'user', content: [{ type: 'input_image', image_url: 'https://x.test/a.png' }] }] }).chat.remoteMediaParam).toBe('input[0].content[0].image_url');
    expect(parse({ input: [{ role: 'user', content: [{ type: 'input_text', text: 'a' }, { type: 'input_image', file_id: 'file_1' }] }] }).untranslatable).toBe('input[0].content[1].file_id');
    expect(parse({ input: [{ role: 'user', content: [{ type: 'input_file', file_id: 'file_1' }] }] }).untranslatable).toBe('input[0].content[0].type');
  });

  it('function calls join the assistant turn before them; outputs become tool messages; reasoning is dropped', () => {
    const r = parse({
      input: [
        { role: 'user', content: 'Weather?' },
        { type: 'reasoning', id: 'rs_1', summary: [] },
        { role: 'assistant', content: 'Checking.' },
        { type: 'function_call', call_id: 'c1', name: 'w', arguments: '{"city":"A"}' },
        { type: 'function_call', call_id: 'c2', name: 'w', arguments: '{"city":"B"}' },
        { type: 'function_call_output', call_id: 'c1', output: 'sunny' },
        { type: 'function_call_output', call_id: 'c2', output: [{ type: 'input_text', text: 'rain' }] },
        { type: 'function_call', call_id: 'c3', name: 'w', arguments: '{}' },
      ],
    });
    expect(r.chat.messages).toEqual([
      { role: 'user', content: 'Weather?' },
      { role: 'assistant', content: 'Checking.', tool_calls: [
        { id: 'c1', type: 'function', function: { name: 'w', arguments: '{"city":"A"}' } },
        { id: 'c2', type: 'function', function: { name: 'w', arguments: '{"city":"B"}' } },
      ] },
      { role: 'tool', tool_call_id: 'c1', content: 'sunny' },
      { role: 'tool', tool_call_id: 'c2', content: 'rain' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'c3', type: 'function', function: { name: 'w', arguments: '{}' } }] },
    ]);
    expect(r.inputItems.map((i) => String(i.id).split('_')[0])).toEqual(['msg', 'rs', 'msg', 'fc', 'fc', 'fco', 'fco', 'fc']);
    expect(r.untranslatable).toBeUndefined();
  });

  it('item references and built-in tool items cannot be translated, named by position', () => {
    expect(parse({ input: [{ role: 'user', content: 'x' }, { type: 'item_reference', id: 'msg_1' }] }).untranslatable).toBe('input[1]');
    expect(parse({ input: [{ type: 'web_search_call', id: 'ws_1', status: 'completed' }] }).untranslatable).toBe('input[0]');
  });

  it('stored items (prior) come first, in the chat form and the native input; they count against the caps', () => {
    const prior: ResponseItem[] = [
      { type: 'message', id: 'msg_a', role: 'user', content: [{ type: 'input_text', text: 'first' }] },
      { type: 'message', id: 'msg_b', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'answer', annotations: [] }] },
    ];
    const r = parse({ instructions: 'New rules.', previous_response_id: 'resp_1' }, prior);
    expect(r.chat.messages).toEqual([{ role: 'system', content: 'New rules.' }, { role: 'user', content: 'first' }, { role: 'assistant', content: 'answer' }, { role: 'user', content: 'Hi' }]);
    expect((r.native.input as ResponseItem[]).map((i) => i.id)).toEqual(['msg_a', 'msg_b', r.inputItems[0]!.id]);
    expect(r.inputItems).toHaveLength(1);
    expect(r.previousResponseId).toBe('resp_1');
    expect(r.native).not.toHaveProperty('previous_response_id');
    expect(r.native).not.toHaveProperty('store');
    expect(Object.isFrozen(r.native)).toBe(true);

    const many = Array.from({ length: requestCaps.maxMessages - 1 }, () => prior[0]!);
    expect(parse({ input: [{ role: 'user', content: 'a' }] }, many).chat.messages).toHaveLength(requestCaps.maxMessages);
    expect(refusal({ model: 'm', input: [{ role: 'user', content: 'a' }, { role: 'user', content: 'b' }] }, many).param).toBe('previous_response_id');
    const tooMany = Array.from({ length: requestCaps.maxMessages + 1 }, () => ({ role: 'user', content: 'a' }));
    expect(refusal({ model: 'm', input: tooMany }).param).toBe('input');
  });
});

describe('parseResponsesRequest: parameters → chat', () => {
  it('function tools (flat) → chat tools; parallel_tool_calls only with tools; tool_choice', () => {
    const tools = [{ type: 'function', name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: {} }, strict: true }];
    const r = parse({ tools, tool_choice: { type: 'function', name: 'get_weather' }, parallel_tool_calls: false });
    expect(r.chat.body.tools).toEqual([{ type: 'function', function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: {} }, strict: true } }]);
    expect(r.chat.body.tool_choice).toEqual({ type: 'function', function: { name: 'get_weather' } });
    expect(r.chat.body.parallel_tool_calls).toBe(false);
    expect(parse({ parallel_tool_calls: false }).chat.body).not.toHaveProperty('parallel_tool_calls');
    for (const mode of ['auto', 'none', 'required']) expect(parse({ tools, tool_choice: mode }).chat.body.tool_choice).toBe(mode);
    expect(parse({ tools: [{ type: 'function', name: 'f' }] }).chat.body.tools).toEqual([{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }]);
  });

  it('built-in tools, hosted tool choices and other untranslatables are named', () => {
    expect(parse({ tools: [{ type: 'function', name: 'f' }, { type: 'web_search' }] }).untranslatable).toBe('tools[1]');
    expect(parse({ tool_choice: { type: 'file_search' } }).untranslatable).toBe('tool_choice');
    expect(parse({ include: ['reasoning.encrypted_content'] }).untranslatable).toBe('include');
    expect(parse({ include: [] }).untranslatable).toBeUndefined();
    expect(parse({ truncation: 'auto' }).untranslatable).toBe('truncation');
    expect(parse({ truncation: 'disabled' }).untranslatable).toBeUndefined();
    expect(parse({ reasoning: { summary: 'auto' } }).untranslatable).toBe('reasoning.summary');
    expect(parse({ prompt: { id: 'pmpt_1' } }).untranslatable).toBe('prompt');
    expect(parse({ max_tool_calls: 3 }).untranslatable).toBe('max_tool_calls');
  });

  it('text.format → response_format; sampling, output cap, reasoning effort, user ids, stream', () => {
    expect(parse({ text: { format: { type: 'text' } } }).chat.body.response_format).toEqual({ type: 'text' });
    expect(parse({ text: { format: { type: 'json_object' } } }).chat.body.response_format).toEqual({ type: 'json_object' });
    const schema = { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false };
    expect(parse({ text: { format: { type: 'json_schema', name: 'out', schema, strict: true, description: 'd' } } }).chat.body.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'out', schema, strict: true, description: 'd' } });
    const r = parse({ max_output_tokens: 99, temperature: 0.5, top_p: 0.9, reasoning: { effort: 'low' }, user: 'u', safety_identifier: 's', text: { verbosity: 'low' }, stream: true });
    expect(r.chat.body).toMatchObject({ max_completion_tokens: 99, temperature: 0.5, top_p: 0.9, reasoning_effort: 'low', user: 'u', safety_identifier: 's', verbosity: 'low', stream: true, stream_options: { include_usage: true } });
    expect(r.chat.maxOutputTokens).toBe(99);
    expect(r.stream).toBe(true);
    expect(r.chat.stream).toBe(true);
    expect(parse({}).chat.body).toEqual({ model: 'm', messages: [{ role: 'user', content: 'Hi' }] });
  });

  it('metadata and store are the gateway’s: echoed, never sent to the chat provider', () => {
    const r = parse({ metadata: { team: 'x' }, store: false });
    expect(r.chat.body).not.toHaveProperty('metadata');
    expect(r.chat.body).not.toHaveProperty('store');
    expect(r.store).toBe(false);
    expect(r.echo).toMatchObject({ metadata: { team: 'x' }, store: false });
    expect(parse({}).store).toBe(true);
    expect(parse({}).echo).toMatchObject({ metadata: {}, store: true, tool_choice: 'auto', parallel_tool_calls: true, temperature: 1, top_p: 1, truncation: 'disabled', max_output_tokens: null, previous_response_id: null, instructions: null, text: { format: { type: 'text' } }, reasoning: { effort: null, summary: null } });
  });
});

describe('parseResponsesRequest: refusals (400 naming the parameter)', () => {
  it.each([
    [{ model: 'm', input: 'x', background: true }, 'background', 'unsupported_parameter'],
    [{ model: 'm', input: 'x', conversation: { id: 'conv_1' } }, 'conversation', 'unsupported_parameter'],
    [{ model: 'm', input: 'x', api_base: 'http://evil' }, 'api_base', 'unsupported_parameter'],
    [{ input: 'x' }, 'model', 'invalid_request'],
    [{ model: 'm' }, 'input', 'invalid_request'],
    [{ model: 'm', input: 3 }, 'input', 'invalid_request'],
    [{ model: 'm', input: 'x', temperature: 3 }, 'temperature', 'invalid_request'],
    [{ model: 'm', input: 'x', top_p: 2 }, 'top_p', 'invalid_request'],
    [{ model: 'm', input: 'x', max_output_tokens: 0 }, 'max_output_tokens', 'invalid_request'],
    [{ model: 'm', input: 'x', metadata: Object.fromEntries(Array.from({ length: 17 }, (_, i) => [`k${i}`, 'v'])) }, 'metadata', 'invalid_request'],
    [{ model: 'm', input: 'x', metadata: { k: 1 } }, 'metadata.k', 'invalid_request'],
    [{ model: 'm', input: 'x', tools: [{ type: 'function', name: 'bad name' }] }, 'tools[0].name', 'invalid_request'],
    [{ model: 'm', input: 'x', tools: [{ type: 'function', name: 'f', parameters: 'x' }] }, 'tools[0].parameters', 'invalid_request'],
    [{ model: 'm', input: 'x', tools: [{ name: 'f' }] }, 'tools[0].type', 'invalid_request'],
    [{ model: 'm', input: 'x', tool_choice: 'sometimes' }, 'tool_choice', 'invalid_request'],
    [{ model: 'm', input: 'x', tool_choice: { type: 'function' } }, 'tool_choice.name', 'invalid_request'],
    [{ model: 'm', input: 'x', text: { format: { type: 'xml' } } }, 'text.format.type', 'invalid_request'],
    [{ model: 'm', input: 'x', text: { format: { type: 'json_schema', schema: {} } } }, 'text.format.name', 'invalid_request'],
    [{ model: 'm', input: 'x', text: { format: { type: 'json_schema', name: 'o' } } }, 'text.format.schema', 'invalid_request'],
    [{ model: 'm', input: 'x', reasoning: { effort: 'max' } }, 'reasoning.effort', 'invalid_request'],
    [{ model: 'm', input: 'x', stream: 'yes' }, 'stream', 'invalid_request'],
    [{ model: 'm', input: [{ role: 'robot', content: 'x' }] }, 'input[0].role', 'invalid_request'],
    [{ model: 'm', input: [{ role: 'user', content: 5 }] }, 'input[0].content', 'invalid_request'],
    [{ model: 'm', input: [{ role: 'user', content: [{ type: 'input_text' }] }] }, 'input[0].content[0].text', 'invalid_request'],
    [{ model: 'm', input: [{ role: 'user', content: [{ type: 'input_image' }] }] }, 'input[0].content[0].image_url', 'invalid_request'],
    [{ model: 'm', input: [{ type: 'function_call', name: 'f', arguments: '{}' }] }, 'input[0].call_id', 'invalid_request'],
    [{ model: 'm', input: [{ type: 'function_call', call_id: 'c', name: 'f', arguments: {} }] }, 'input[0].arguments', 'invalid_request'],
    [{ model: 'm', input: [{ type: 'function_call_output', call_id: 'c', output: 5 }] }, 'input[0].output', 'invalid_request'],
    [{ model: 'm', input: ['x'] }, 'input[0]', 'invalid_request'],
    [{ model: 'm', input: [{ content: 'x' }] }, 'input[0].type', 'invalid_request'],
    [{ model: 'm', input: [{ type: 7 }] }, 'input[0].type', 'invalid_request'],
  ] as const)('%j → %s', (body, param, code) => {
    const err = refusal(body);
    expect(err.status).toBe(400);
    expect(err.code).toBe(code);
    expect(err.param).toBe(param);
  });

  it('a body that is not an object is invalid_json', () => {
    expect(refusal([1]).code).toBe('invalid_json');
  });
});
