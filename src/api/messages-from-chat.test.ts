import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { anthropicSse } from '../http/sse-writer.js';
import { AnthropicStreamTranslator } from '../providers/anthropic/stream.js';
import type { AnthropicStreamEvent } from '../providers/anthropic/wire.js';
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

/** A chat translator that hands out the given chunks, one event each, then ends cleanly. */
function scripted(chunks: ChatChunk[]): ChatToMessagesStream {
  let i = 0;
  const inner = {
    onEvent: () => ({ chunks: [chunks[i++]!], done: false }),
    onEnd: () => ({ chunks: [], done: true }),
    usage: () => ({ promptTokens: 1, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, estimated: false }),
  };
  return new ChatToMessagesStream(inner, ctx);
}
const delta = (d: Record<string, unknown>, finish: string | null = null): ChatChunk =>
  ({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: d, finish_reason: finish }] }) as unknown as ChatChunk;
const tool = (index: number, args: string, head?: { id: string; name: string }) => ({
  tool_calls: [{ index, ...(head ? { id: head.id, type: 'function' } : {}), function: { ...(head ? { name: head.name } : {}), arguments: args } }],
});
function run(chunks: ChatChunk[]): AnthropicStreamEvent[] {
  const t = scripted(chunks);
  const out: AnthropicStreamEvent[] = [];
  for (let i = 0; i < chunks.length; i++) out.push(...t.onEvent({ event: undefined, id: undefined, data: '' }).chunks);
  out.push(...t.onEnd().chunks);
  return out;
}
/** Every delta and stop names the block that is open at that moment; blocks never overlap. */
function expectSequentialBlocks(events: AnthropicStreamEvent[]): void {
  let open: number | undefined;
  for (const e of events) {
    if (e.type === 'content_block_start') {
      expect(open, 'a block started while another was open').toBeUndefined();
      open = e.index;
    } else if (e.type === 'content_block_delta') expect(e.index, 'a delta for a block that is not open').toBe(open);
    else if (e.type === 'content_block_stop') {
      expect(e.index).toBe(open);
      open = undefined;
    }
  }
}

describe('ChatToMessagesStream: issue 10 §6 review defects', () => {
  it('interleaved parallel tool-call fragments never produce events for a stopped block; each call keeps its own arguments', () => {
    const events = run([
      delta({ role: 'assistant', content: 'Let me check.' }),
      delta(tool(0, '{"ci', { id: 'call_a', name: 'weather' })),
      delta(tool(1, '{"tic', { id: 'call_b', name: 'stock' })),
      delta(tool(0, 'ty":"Paris"}')),
      delta({ content: ' (and more text)' }),
      delta(tool(1, 'ker":"AAPL"}')),
      delta({}, 'tool_calls'),
    ]);
    expectSequentialBlocks(events);
    const blocks = new Map<number, { block: unknown; json: string; text: string }>();
    for (const e of events) {
      if (e.type === 'content_block_start') blocks.set(e.index, { block: e.content_block, json: '', text: '' });
      if (e.type === 'content_block_delta') {
        const b = blocks.get(e.index)!;
        if (e.delta.type === 'input_json_delta') b.json += e.delta.partial_json as string;
        else b.text += e.delta.text as string;
      }
    }
    const byId = (id: string) => [...blocks.values()].find((b) => (b.block as { id?: string }).id === id)!;
    expect(JSON.parse(byId('call_a').json)).toEqual({ city: 'Paris' });
    expect(JSON.parse(byId('call_b').json)).toEqual({ ticker: 'AAPL' });
    expect(byId('call_b').block).toMatchObject({ type: 'tool_use', name: 'stock' });
    expect([...blocks.values()].map((b) => b.text).join('')).toBe('Let me check. (and more text)');
    expect(events.at(-2)).toMatchObject({ delta: { stop_reason: 'tool_use' } });
  });

  it('a streamed refusal beside an empty content is kept', () => {
    const events = run([delta({ role: 'assistant', content: '', refusal: "I can't help with that." }), delta({}, 'stop')]);
    expect(events.flatMap((e) => (e.type === 'content_block_delta' ? [e.delta.text] : []))).toEqual(["I can't help with that."]);
  });
});

describe('completionToMessage', () => {
  it('a refusal beside content "" is kept as the text (issue 10 §6)', () => {
    const c = { id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: '', refusal: 'No.' }, logprobs: null, finish_reason: 'stop' }] } as unknown as ChatCompletion;
    expect(completionToMessage(c, { promptTokens: 1, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, estimated: false }, ctx).content).toEqual([{ type: 'text', text: 'No.' }]);
  });

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
