/**
 * The Vercel AI SDK (`ai` 6 with `@ai-sdk/openai-compatible` 2, the Node-20 lines) against the
 * running gateway, over openai, vllm, azure and triton deployments: generateText, streamText (text
 * and usage), and a tool call, where the provider can make one.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { APICallError, generateText, streamText, tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { countPromptTokens, countTokens } from '../src/api/token-count.js';
import { KEY, type Harness } from './helpers/harness.js';
import { openAiStreamBytes } from './helpers/recorded.js';
import { PROVIDERS, providerHarness, type Provider } from './helpers/providers.js';

const REPLY = 'Four score and seven years ago';
const PROMPT = 'Begin a famous speech, please.';
/** A recorded gpt-4o stream with one get_weather tool call. */
const ONE_TOOL_CALL = '2018feb66ae13fcf5333d61b95849decc68d3f63bd38172889367e1afb1e04f7.sse';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function setup(provider: Provider) {
  const h = await providerHarness(provider, { reply: REPLY, chunks: 3 });
  open.push(h);
  const gateway = createOpenAICompatible({ name: 'gateway', baseURL: `${h.url}/v1`, apiKey: KEY, includeUsage: true, supportsStructuredOutputs: true });
  return { h, fake: h.fakes[0]!, model: gateway('chat') };
}

/** The usage the client must see: the fake OpenAI's own counts (words; +3 per message), or Triton's tokenizer estimate. */
function expectedUsage(provider: Provider): { inputTokens: number; outputTokens: number } {
  if (provider === 'triton') return { inputTokens: countPromptTokens([{ role: 'user', content: PROMPT }]), outputTokens: countTokens(REPLY) };
  return { inputTokens: PROMPT.split(' ').length + 3, outputTokens: REPLY.split(' ').length };
}

const tools = { get_weather: tool({ description: 'Weather for a city', inputSchema: z.object({ city: z.string() }), execute: async ({ city }) => ({ city, sky: 'sunny' }) }) };

describe.each(PROVIDERS)('Vercel AI SDK via @ai-sdk/openai-compatible, %s deployment', (provider) => {
  it('generateText: text, finish reason and usage', async () => {
    const { model } = await setup(provider);
    const result = await generateText({ model, prompt: PROMPT, maxRetries: 0 });
    expect(result.text).toBe(REPLY);
    expect(result.finishReason).toBe('stop');
    expect(result.usage).toMatchObject({
      ...expectedUsage(provider),
      inputTokenDetails: { cacheReadTokens: 0 },
      outputTokenDetails: { reasoningTokens: 0 },
    });
  });

  it('streamText: streamed text and the usage from the final usage chunk', async () => {
    const { model, fake } = await setup(provider);
    const result = streamText({ model, prompt: PROMPT, maxRetries: 0 });
    const parts: string[] = [];
    for await (const part of result.textStream) parts.push(part);
    expect(parts.join('')).toBe(REPLY);
    expect(parts.length).toBeGreaterThan(1);
    expect(await result.finishReason).toBe('stop');
    expect(await result.usage).toMatchObject({ ...expectedUsage(provider), inputTokenDetails: { cacheReadTokens: 0 }, outputTokenDetails: { reasoningTokens: 0 } });
    if (provider !== 'triton') expect(fake.received.at(-1)?.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it('tool call: generateText and streamText return the call with parsed input', async () => {
    const { model, fake } = await setup(provider);
    if (provider === 'triton') {
      let err: unknown;
      try {
        await generateText({ model, prompt: PROMPT, tools, maxRetries: 0 });
      } catch (e) {
        err = e;
      }
      expect(APICallError.isInstance(err)).toBe(true);
      expect((err as APICallError).statusCode).toBe(400);
      expect((err as APICallError).responseBody).toContain('"param":"tools"');
      return;
    }
    fake.enqueue({
      kind: 'status',
      status: 200,
      body: {
        id: 'chatcmpl-1',
        object: 'chat.completion',
        created: 1,
        model: 'gpt-4o',
        choices: [{ index: 0, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } }] }, logprobs: null, finish_reason: 'tool_calls' }],
        usage: { prompt_tokens: 40, completion_tokens: 9, total_tokens: 49 },
      },
    });
    const plain = await generateText({ model, prompt: PROMPT, tools, maxRetries: 0 });
    expect(plain.finishReason).toBe('tool-calls');
    expect(plain.toolCalls.map((c) => ({ id: c.toolCallId, name: c.toolName, input: c.input }))).toEqual([{ id: 'call_1', name: 'get_weather', input: { city: 'Paris' } }]);
    expect(plain.toolResults.map((r) => r.output)).toEqual([{ city: 'Paris', sky: 'sunny' }]);
    expect(fake.received.at(-1)?.body).toMatchObject({ tools: [{ type: 'function', function: { name: 'get_weather' } }] });

    fake.enqueue({ kind: 'replay', body: openAiStreamBytes(ONE_TOOL_CALL), contentType: 'text/event-stream', pieceBytes: 50 });
    const streamed = streamText({ model, prompt: PROMPT, tools, maxRetries: 0 });
    const calls = await streamed.toolCalls;
    expect(await streamed.finishReason).toBe('tool-calls');
    expect(calls).toHaveLength(1);
    expect(calls[0]?.toolName).toBe('get_weather');
    expect(calls[0]?.toolCallId).toMatch(/^call_/);
    expect(calls[0]?.input).toEqual({ city: 'New York City' });
    expect((await streamed.usage).outputTokens).toBe(16);
  });
});
