import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { anthropicSse } from '../http/sse-writer.js';
import { AnthropicStreamTranslator } from '../providers/anthropic/stream.js';
import type { AnthropicStreamEvent } from '../providers/anthropic/wire-types.js';
import { OpenAiStreamTranslator } from '../providers/openai/stream.js';
import { UpstreamProtocolError, type ResponseContext } from '../providers/types.js';
import { SseDecoder } from '../upstream/sse-decoder.js';
import type { ChatChunk, ChatCompletion } from './chat-types.js';
import { ChatToMessagesStream, completionToMessage, stopReasonFor } from './messages-from-chat.js';

const ctx: ResponseContext = { id: 'chatcmpl-abc123', created: 1, model: 'claude', includeUsage: true, promptTokensEstimate: 3 };
const fixture = (name: string): Buffer => readFileSync(new URL(`../../test/fixtures/openai-chat-streams/${name}`, import.meta.url));
const PARALLEL_TOOLS = 'f82268f2fefd5cfbc7eeb59c297688be2f6ca0849a6e4f17851b517310841d9b.sse';
const REFUSAL = '173417d553406f034f643e5db3f8d591fb691ebac56f5ae39a22cc7d455c5353.sse';
const LENGTH = '4cc50a6135d254573a502310e6af1246f55edb6ad95fa24059f160996b68866d.sse';

/** OpenAI SSE bytes → Anthropic events through the OpenAI translator and the wrapper, cut at `cuts`. */
function replay(bytes: Buffer, cuts: number[] = []): AnthropicStreamEvent[] {
  const t = new ChatToMessagesStream(new OpenAiStreamTranslator<ChatChunk>(ctx), ctx);
  const decoder = new SseDecoder();
  const out: AnthropicStreamEvent[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    for (const e of decoder.push(bytes.subarray(from, cut))) out.push(...t.onEvent(e).chunks);
    from = cut;
  }
  out.push(...t.onEnd().chunks);
  return out;
}

describe('ChatToMessagesStream over recorded OpenAI streams', () => {
  it('two parallel tool calls → two tool_use blocks with their argument fragments, stop_reason tool_use, usage', () => {
    const events = replay(fixture(PARALLEL_TOOLS));
    expect(events.map((e) => e.type).filter((t) => t !== 'content_block_delta')).toEqual([
      'message_start', 'content_block_start', 'content_block_stop', 'content_block_start', 'content_block_stop', 'message_delta', 'message_stop',
    ]);
    const starts = events.filter((e) => e.type === 'content_block_start');
    expect(starts.map((e) => [e.index, e.content_block])).toEqual([
      [0, { type: 'tool_use', id: 'call_JMW1whyEaYG438VE1OIflxA2', name: 'GetWeatherArgs', input: {} }],
      [1, { type: 'tool_use', id: 'call_DNYTawLBoN8fj3KN6qU9N1Ou', name: 'get_stock_price', input: {} }],
    ]);
    const json = [0, 1].map((i) => events.flatMap((e) => (e.type === 'content_block_delta' && e.index === i ? [e.delta.partial_json as string] : [])).join(''));
    expect(JSON.parse(json[0]!)).toMatchObject({ city: expect.any(String) });
    expect(JSON.parse(json[1]!)).toMatchObject({ ticker: expect.any(String) });
    expect(events.at(-2)).toEqual({ type: 'message_delta', delta: { stop_reason: 'tool_use', stop_sequence: null }, usage: { input_tokens: 149, output_tokens: 60, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } });
    expect(events[0]).toMatchObject({ type: 'message_start', message: { id: 'msg_abc123', model: 'claude', role: 'assistant', content: [] } });
  });

  it('a refusal → its text as a text block, stop_reason end_turn (OpenAI said stop); a length cut → max_tokens', () => {
    const refusal = replay(fixture(REFUSAL));
    const text = refusal.flatMap((e) => (e.type === 'content_block_delta' ? [e.delta.text as string] : [])).join('');
    expect(text).toMatch(/^I'm (very )?sorry/);
    expect(refusal.at(-2)).toMatchObject({ delta: { stop_reason: 'end_turn' } });
    expect(replay(fixture(LENGTH)).at(-2)).toMatchObject({ delta: { stop_reason: 'max_tokens' } });
  });

  it.each([PARALLEL_TOOLS, REFUSAL, LENGTH])('%s: the same events whether split at every byte offset or sent whole', (name) => {
    const bytes = fixture(name);
    const whole = JSON.stringify(replay(bytes));
    for (let cut = 1; cut < bytes.length; cut += 7) expect(JSON.stringify(replay(bytes, [cut]))).toBe(whole);
  });

  it('round trip: our Anthropic SSE, read back by the Anthropic upstream translator, gives the original tool calls and usage', () => {
    const wire = Buffer.from(replay(fixture(PARALLEL_TOOLS)).map((e) => anthropicSse.frame(e)).join(''));
    const back = new AnthropicStreamTranslator(ctx);
    const chunks = new SseDecoder().push(wire).flatMap((e) => back.onEvent(e).chunks);
    const names = chunks.flatMap((c) => c.choices[0]?.delta.tool_calls ?? []).filter((tc) => tc.id).map((tc) => [tc.index, tc.function?.name]);
    expect(names).toEqual([[0, 'GetWeatherArgs'], [1, 'get_stock_price']]);
    expect(back.usage()).toMatchObject({ promptTokens: 149, completionTokens: 60 });
  });

  it('an upstream error passes through untouched; a stream that ends without [DONE] still throws', () => {
    const t = new ChatToMessagesStream(new OpenAiStreamTranslator<ChatChunk>(ctx), ctx);
    const step = t.onEvent({ event: undefined, id: undefined, data: '{"error":{"message":"boom","type":"server_error"}}' });
    expect(step.error?.message).toBe('boom');
    expect(() => t.onEnd()).toThrow(UpstreamProtocolError);
  });
});

describe('completionToMessage', () => {
  const completion = (message: Record<string, unknown>, finish: ChatCompletion['choices'][number]['finish_reason']): ChatCompletion => ({
    id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: null, ...message }, logprobs: null, finish_reason: finish }],
  });
  const usage = { promptTokens: 30, completionTokens: 5, cachedTokens: 10, cacheWriteTokens: 4, reasoningTokens: 0, estimated: false };

  it('text and tool calls → blocks; usage with input excluding cache reads and writes', () => {
    const msg = completionToMessage(completion({ content: 'Checking.', tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'w', arguments: '{"city":"Paris"}' } }] }, 'tool_calls'), usage, ctx);
    expect(msg).toEqual({
      id: 'msg_abc123', type: 'message', role: 'assistant', model: 'claude',
      content: [{ type: 'text', text: 'Checking.' }, { type: 'tool_use', id: 'call_1', name: 'w', input: { city: 'Paris' } }],
      stop_reason: 'tool_use', stop_sequence: null,
      usage: { input_tokens: 16, output_tokens: 5, cache_read_input_tokens: 10, cache_creation_input_tokens: 4 },
    });
  });

  it('tool arguments that are not a JSON object are an upstream protocol error, not a guess', () => {
    expect(() => completionToMessage(completion({ tool_calls: [{ id: 'c', type: 'function', function: { name: 'w', arguments: '{bad' } }] }, 'tool_calls'), usage, ctx)).toThrow(UpstreamProtocolError);
    expect(() => completionToMessage(completion({ tool_calls: [{ id: 'c', type: 'function', function: { name: 'w', arguments: '[1]' } }] }, 'tool_calls'), usage, ctx)).toThrow(UpstreamProtocolError);
  });

  it.each([
    ['stop', 'end_turn'],
    ['length', 'max_tokens'],
    ['tool_calls', 'tool_use'],
    ['content_filter', 'refusal'],
    [null, 'end_turn'],
  ] as const)('finish_reason %s → stop_reason %s', (finish, stop) => {
    expect(stopReasonFor(finish)).toBe(stop);
  });
});

describe('golden translations (OpenAI → Anthropic, for /v1/messages), reviewed and committed under golden/', () => {
  it.each([PARALLEL_TOOLS, REFUSAL, LENGTH])('%s → Anthropic events', async (name) => {
    const wire = replay(fixture(name)).map((e) => anthropicSse.frame(e)).join('');
    await expect(wire).toMatchFileSnapshot(`./golden/${name.slice(0, 8)}.anthropic-events.sse`);
  });
});
