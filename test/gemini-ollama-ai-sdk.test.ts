/**
 * The Vercel AI SDK (ai 6 + @ai-sdk/openai-compatible 2, the Node-20 lines) through the gateway
 * in front of the Gemini and Ollama fakes: text, stream with usage, a tool call, and an object.
 */
import { createOpenAICompatible } from '@ai-sdk/openai-compatible';
import { generateObject, generateText, jsonSchema, streamText, tool } from 'ai';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { deploymentFor, KEY, startHarness, type Harness } from './helpers/harness.js';

const REPLY = 'one two three four five';
const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function gateway(dialect: 'gemini' | 'ollama') {
  const h = await startHarness({
    fakes: [{ dialect, behaviour: { reply: REPLY, chunks: 3 } }],
    config: ([fake]) => ({
      deployments: { d: deploymentFor(fake!) },
      models: { chat: { targets: [{ deployment: 'd', model: dialect === 'gemini' ? 'gemini-2.0-flash' : 'llama3.2' }] } },
    }),
  });
  open.push(h);
  const provider = createOpenAICompatible({ name: 'gw', baseURL: `${h.url}/v1`, apiKey: KEY, includeUsage: true, supportsStructuredOutputs: true });
  return { h, model: provider('chat') };
}

describe.each(['gemini', 'ollama'] as const)('Vercel AI SDK through a %s deployment', (dialect) => {
  it('generateText and streamText: same text, finish reason and usage', async () => {
    const { model } = await gateway(dialect);
    const plain = await generateText({ model, prompt: 'Count.', maxRetries: 0 });
    expect(plain.text).toBe(REPLY);
    expect(plain.finishReason).toBe('stop');
    expect(plain.usage.outputTokens).toBe(5);
    const streamed = streamText({ model, prompt: 'Count.', maxRetries: 0 });
    let text = '';
    for await (const delta of streamed.textStream) text += delta;
    expect(text).toBe(REPLY);
    expect(await streamed.finishReason).toBe('stop');
    expect((await streamed.usage).outputTokens).toBe(5);
    expect((await streamed.usage).inputTokens).toBe(plain.usage.inputTokens);
  });

  it('a tool call comes back with an id and parsed input', async () => {
    const { model } = await gateway(dialect);
    const res = await generateText({
      model,
      prompt: 'Weather in Paris?',
      maxRetries: 0,
      tools: { get_weather: tool({ description: 'Weather', inputSchema: jsonSchema<{ city: string }>({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] }) }) },
    });
    expect(res.finishReason).toBe('tool-calls');
    expect(res.toolCalls.map((c) => [c.toolName, c.input])).toEqual([['get_weather', { city: 'sample' }]]);
    expect(res.toolCalls[0]?.toolCallId).toMatch(/^call_/);
  });

  it('generateObject with a zod schema', async () => {
    const { model } = await gateway(dialect);
    const res = await generateObject({ model, prompt: 'A city.', maxRetries: 0, schema: z.object({ name: z.string(), population: z.number() }) });
    expect(res.object).toEqual({ name: 'sample', population: 1.5 });
  });
});
