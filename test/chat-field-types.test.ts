/**
 * Issue 10 §6 (S-02): known OpenAI chat fields with the wrong type or out of range are refused at
 * the gateway with a 400 naming the field, never forwarded. Each bad value is also invalid per the
 * OpenAPI spec (so the gateway is never stricter than OpenAI), and each good one passes through.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, chatBody, deploymentFor, startHarness, type Harness } from './helpers/harness.js';
import { specErrors } from './helpers/openai-spec.js';

let h: Harness;
beforeAll(async () => {
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    config: ([oa]) => ({ deployments: { oa: deploymentFor(oa!) }, models: { m: { targets: [{ deployment: 'oa', model: 'x' }] } } }),
  });
});
afterAll(async () => {
  await h.close();
});

const fn = { type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: {} } } };

const bad: Array<[string, unknown, string?]> = [
  ['tools', { type: 'function', function: { name: 'f' } }],
  ['tools', [{ type: 'function' }], 'tools[0].function'],
  ['tools', [{ type: 'function', function: { name: 7 } }], 'tools[0].function.name'],
  ['tool_choice', 5],
  ['tool_choice', 'sometimes'],
  ['tool_choice', { type: 'function' }, 'tool_choice'],
  ['response_format', 'json'],
  ['response_format', { type: 'xml' }, 'response_format.type'],
  ['response_format', { type: 'json_schema' }, 'response_format.json_schema'],
  ['seed', 'x'],
  ['seed', 1.5],
  ['logprobs', 'yes'],
  ['top_logprobs', 21],
  ['top_logprobs', -1],
  ['presence_penalty', 'x'],
  ['presence_penalty', -2.5],
  ['frequency_penalty', 99],
  ['logit_bias', { '50256': 'x' }, 'logit_bias.50256'],
  ['logit_bias', [1, 2]],
  ['parallel_tool_calls', 'true'],
  ['store', 1],
  ['metadata', { k: 1 }, 'metadata.k'],
  ['metadata', 'x'],
  ['service_tier', 5],
  ['reasoning_effort', true],
  ['verbosity', 3],
  ['modalities', 'text'],
  ['modalities', [1], 'modalities[0]'],
  ['prediction', 'x'],
  ['audio', 'alloy'],
  ['web_search_options', []],
  ['prompt_cache_key', 42],
  ['safety_identifier', 'a'.repeat(65)],
  ['functions', []],
  ['function_call', 'required'],
  ['function_call', 7],
];

const good: Array<[string, unknown]> = [
  ['tools', [fn]],
  ['tool_choice', 'required'],
  ['tool_choice', { type: 'function', function: { name: 'get_weather' } }],
  ['response_format', { type: 'json_schema', json_schema: { name: 'out', schema: { type: 'object' }, strict: true } }],
  ['response_format', { type: 'json_object' }],
  ['seed', -7],
  ['logprobs', true],
  ['top_logprobs', 20],
  ['presence_penalty', -2],
  ['frequency_penalty', 2],
  ['logit_bias', { '50256': -100 }],
  ['parallel_tool_calls', false],
  ['metadata', { team: 'a' }],
  ['reasoning_effort', 'low'],
];

describe('S-02: known chat fields are type- and range-checked (issue 10 §6)', () => {
  it.each(bad)('%s = %j → 400 naming the field; nothing forwarded', async (field, value, param) => {
    const body = chatBody('m', { [field]: value, ...(field === 'tool_choice' ? { tools: [fn] } : {}) });
    expect(specErrors('CreateChatCompletionRequest', { ...body, model: 'gpt-4o' }), 'the spec refuses it too').not.toEqual([]);
    const before = h.fakes[0]!.received.length;
    const res = await chat(h.url, body);
    expect(res.status).toBe(400);
    expect(res.json().error).toMatchObject({ type: 'invalid_request_error', code: 'invalid_request', param: param ?? field });
    expect(h.fakes[0]!.received.length).toBe(before);
  });

  it.each(good)('%s = %j is valid and reaches the upstream unchanged', async (field, value) => {
    const body = chatBody('m', { [field]: value, ...(field === 'tool_choice' ? { tools: [fn] } : {}) });
    expect(specErrors('CreateChatCompletionRequest', { ...body, model: 'gpt-4o' })).toEqual([]);
    const res = await chat(h.url, body);
    expect(res.status).toBe(200);
    expect((h.fakes[0]!.received.at(-1)!.body as Record<string, unknown>)[field]).toEqual(value);
  });

  it('unknown fields still pass through', async () => {
    const res = await chat(h.url, chatBody('m', { top_k: 'anything', vendor_extension: { a: 1 } }));
    expect(res.status).toBe(200);
    expect(h.fakes[0]!.received.at(-1)!.body).toMatchObject({ top_k: 'anything', vendor_extension: { a: 1 } });
  });
});
