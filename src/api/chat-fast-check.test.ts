import { describe, expect, it } from 'vitest';
import { isCommonValidChat } from './chat-fast-check.js';
import { chatBody } from './parse-chat.js';

/** Values that sit on and around every boundary the schema draws. */
const values: unknown[] = [
  undefined, null, true, false, 0, 1, -1, 0.5, 1.5, 2, 2.5, 4, 8, 9, 1e6, 1e6 + 1, 2 ** 53, -0,
  '', 'x', 'gpt-mini', 'has space', 'ключ', 'a'.repeat(256), 'a'.repeat(257),
  [], ['a'], ['a', 'b', 'c', 'd'], ['a', 'b', 'c', 'd', 'e'], [1], {}, { include_usage: true }, { include_usage: 'x' },
  { include_usage: true, include_obfuscation: false }, { include_usage: true, other: 1 }, [{ type: 'text', text: 'hi' }], [{ type: '' }], [{}], [null], ['text'],
  // Around the other known fields' bounds and shapes (penalties, top_logprobs, tools, formats).
  -2, -2.5, 20, 21, 1.5e300, 'none', 'auto', 'required', 'json', 'a'.repeat(64), 'a'.repeat(65),
  [{ type: 'function', function: { name: 'f' } }], [{ type: 'function', function: { name: 1 } }], [{ type: 'function' }], [{ type: 'custom', custom: { name: 'c' } }],
  [{ type: 'web_search' }], [{ name: 'f' }], { type: 'function', function: { name: 'f' } }, { type: 'function' }, { type: 'allowed_tools', allowed_tools: {} },
  { type: 'allowed_tools' }, { type: 'text' }, { type: 'json_object' }, { type: 'json_schema', json_schema: { name: 'n', schema: {} } }, { type: 'json_schema' },
  { type: 'xml' }, { '50256': -100 }, { '50256': 101 }, { '1': 0.5 }, { a: 'b' }, { a: 1 }, ['text', 'audio'], [1, 2], { name: 'f' },
];

const messageValues: unknown[] = [
  [], [{ role: 'user', content: 'hi' }], [{ role: 'robot', content: 'hi' }], [{ role: 'user' }], [{ role: 'user', content: null }],
  [{ role: 'user', content: 7 }], [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }], [{ role: 'user', content: [{ type: 1 }] }],
  [{ role: 'user', content: 'hi', name: 3 }], [{ role: 'tool', content: 'hi', tool_call_id: 'c1' }], [{ role: 'tool', content: 'hi', tool_call_id: 1 }],
  [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'function', function: { name: 'f', arguments: '{}' } }] }],
  [{ role: 'assistant', content: null, tool_calls: [{ id: 'c', type: 'other' }] }], [null], ['user'], { role: 'user' },
  Array.from({ length: 2048 }, () => ({ role: 'user', content: 'x' })), Array.from({ length: 2049 }, () => ({ role: 'user', content: 'x' })),
];

const fields = [
  'model', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'n', 'temperature', 'top_p', 'stop', 'user',
  'frequency_penalty', 'presence_penalty', 'seed', 'logprobs', 'top_logprobs', 'logit_bias', 'tools', 'tool_choice', 'parallel_tool_calls',
  'functions', 'function_call', 'response_format', 'store', 'metadata', 'service_tier', 'reasoning_effort', 'verbosity', 'modalities',
  'prediction', 'audio', 'web_search_options', 'prompt_cache_key', 'safety_identifier',
];

/** A small deterministic PRNG, so a failure names a body that can be replayed. */
function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 32);
}

describe('isCommonValidChat agrees with the chat schema', () => {
  it('never accepts a body the schema refuses, over 40,000 generated bodies; accepts the common valid ones', () => {
    const next = rng(42);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)] as T;
    let fastYes = 0;
    let schemaYes = 0;
    for (let i = 0; i < 40_000; i++) {
      const body: Record<string, unknown> = { model: 'gpt-mini', messages: [{ role: 'user', content: 'hi' }] };
      const changes = 1 + Math.floor(next() * 3);
      for (let c = 0; c < changes; c++) {
        if (next() < 0.3) body.messages = pick(messageValues);
        else body[pick(fields)] = pick(values);
      }
      for (const k of Object.keys(body)) if (body[k] === undefined && next() < 0.5) delete body[k];
      const fast = isCommonValidChat(body);
      const schema = chatBody.safeParse(body).success;
      if (fast && !schema) throw new Error(`fast check accepted a body the schema refuses: ${JSON.stringify(body)}`);
      if (fast) fastYes++;
      if (schema) schemaYes++;
    }
    // Most valid bodies take the quick path (tool calls are left to the schema on purpose).
    expect(fastYes).toBeGreaterThan(schemaYes * 0.8);
  });

  it.each([
    ['the benchmark body', { model: 'm', messages: [{ role: 'system', content: 'a' }, { role: 'user', content: 'b' }], max_tokens: 64, temperature: 0.2 }],
    ['a stream with usage', { model: 'm', messages: [{ role: 'user', content: 'b' }], stream: true, stream_options: { include_usage: true } }],
    ['content parts', { model: 'm', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: 'https://x/y.png' } }] }] }],
  ])('accepts %s', (_name, body) => {
    expect(isCommonValidChat(body)).toBe(true);
    expect(chatBody.safeParse(body).success).toBe(true);
  });
});
