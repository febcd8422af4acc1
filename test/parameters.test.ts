/**
 * Every OpenAI parameter that changes what an answer means is either translated for the
 * provider (the test shows the upstream received it) or refused with a 400 naming it: never
 * silently dropped. What reaches an OpenAI-protocol upstream is checked against the official
 * OpenAI request schema.
 */
import { afterAll, describe, expect, it } from 'vitest';
import type { Harness } from './helpers/harness.js';
import { chat, chatBody } from './helpers/harness.js';
import { specErrors } from './helpers/openai-spec.js';
import { OPENAI_PROTOCOL, providerHarness, SERVED_MODEL, upstreamChatPath, type Provider } from './helpers/providers.js';

// One gateway per provider for the whole file: each case only reads what its own request did.
const harnesses = new Map<Provider, Promise<Harness>>();
afterAll(async () => {
  await Promise.all([...harnesses.values()].map(async (h) => (await h).close()));
});

function start(provider: Provider): Promise<Harness> {
  let h = harnesses.get(provider);
  if (h === undefined) {
    h = providerHarness(provider, { reply: 'ok' });
    harnesses.set(provider, h);
  }
  return h;
}

const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }, strict: true },
};
const imageMessage = {
  role: 'user',
  content: [
    { type: 'text', text: 'What is in this picture?' },
    { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', detail: 'low' } },
  ],
};

/** The parameter cases, with what a Triton deployment does with each. */
const cases: Array<{ name: string; extra: Record<string, unknown>; triton: { refused: string } | { sent: Record<string, unknown> } }> = [
  { name: 'tools', extra: { tools: [weatherTool], tool_choice: 'auto', parallel_tool_calls: false }, triton: { refused: 'tools' } },
  { name: 'tool_choice alone', extra: { tool_choice: 'none' }, triton: { refused: 'tool_choice' } },
  {
    name: 'response_format json_schema',
    extra: { response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false } } } },
    triton: { refused: 'response_format' },
  },
  { name: 'response_format json_object', extra: { response_format: { type: 'json_object' } }, triton: { refused: 'response_format' } },
  { name: 'image in content', extra: { messages: [imageMessage] }, triton: { refused: 'messages[0].content[1]' } },
  { name: 'n', extra: { n: 2 }, triton: { refused: 'n' } },
  { name: 'stop (array)', extra: { stop: ['\n\n', 'END'] }, triton: { sent: { stop_words: ['\n\n', 'END'] } } },
  { name: 'stop (string)', extra: { stop: 'END' }, triton: { sent: { stop_words: ['END'] } } },
  { name: 'seed', extra: { seed: 42 }, triton: { sent: { seed: 42 } } },
  { name: 'logprobs + top_logprobs', extra: { logprobs: true, top_logprobs: 3 }, triton: { refused: 'logprobs' } },
  { name: 'top_logprobs alone', extra: { top_logprobs: 3 }, triton: { refused: 'top_logprobs' } },
  { name: 'logit_bias', extra: { logit_bias: { '50256': -100 } }, triton: { refused: 'logit_bias' } },
  { name: 'web_search_options', extra: { web_search_options: {} }, triton: { refused: 'web_search_options' } },
  { name: 'reasoning_effort', extra: { reasoning_effort: 'low' }, triton: { refused: 'reasoning_effort' } },
  {
    name: 'sampling and length',
    extra: { temperature: 0.2, top_p: 0.9, presence_penalty: 0.5, frequency_penalty: 0.25, max_completion_tokens: 50 },
    triton: { sent: { temperature: 0.2, top_p: 0.9, presence_penalty: 0.5, frequency_penalty: 0.25, max_tokens: 50 } },
  },
];

describe.each(OPENAI_PROTOCOL)('%s deployment: parameters are passed through', (provider) => {
  it.each(cases)('$name reaches the upstream unchanged, in a body valid against CreateChatCompletionRequest', async ({ extra }) => {
    const h = await start(provider);
    for (const stream of [false, true]) {
      const res = await chat(h.url, chatBody('chat', { ...extra, ...(stream ? { stream: true } : {}) }));
      expect(res.status).toBe(200);
      const sent = h.fakes[0]!.received.at(-1)!;
      expect(sent.path).toBe(upstreamChatPath(provider));
      const body = sent.body as Record<string, unknown>;
      expect(body).toMatchObject({ ...extra, model: SERVED_MODEL });
      if (stream) expect(body.stream_options).toEqual({ include_usage: true });
      expect(specErrors('CreateChatCompletionRequest', body)).toEqual([]);
    }
  });
});

describe('triton deployment: translated or refused with a 400 naming the parameter', () => {
  it.each(cases)('$name: translated for Triton or refused with a 400 naming it', async ({ extra, triton }) => {
    const h = await start('triton');
    const before = h.fakes[0]!.stats.requests;
    for (const stream of [false, true]) {
      const res = await chat(h.url, chatBody('chat', { ...extra, ...(stream ? { stream: true } : {}) }));
      if ('refused' in triton) {
        expect(res.status).toBe(400);
        expect(res.json().error).toMatchObject({ type: 'invalid_request_error', code: 'unsupported_parameter', param: triton.refused });
        expect(res.json().error.message).toMatch(/Triton/);
        expect(h.fakes[0]!.stats.requests).toBe(before);
      } else {
        expect(res.status).toBe(200);
        const sent = h.fakes[0]!.received.at(-1)!;
        expect(sent.path).toBe(upstreamChatPath('triton', stream));
        expect(sent.body).toMatchObject(triton.sent);
      }
    }
  });
});
