import { describe, expect, it } from 'vitest';
import { specErrors } from '../../test/helpers/openai-spec.js';
import { openAiStreamBytes, openAiStreamNames } from '../../test/helpers/recorded.js';
import { GatewayError } from '../errors/gateway-error.js';
import { responsesSse } from '../http/sse-writer.js';
import { responsesFinalUsage } from '../pipeline/cost-reply.js';
import { responsesEventHasContent } from '../pipeline/first-content.js';
import { OpenAiStreamTranslator } from '../providers/openai/stream.js';
import { UpstreamProtocolError, type ResponseContext } from '../providers/types.js';
import { SseDecoder } from '../upstream/sse-decoder.js';
import type { ChatChunk, ChatCompletion, UsageRecord } from './chat-types.js';
import { parseResponsesRequest } from './parse-responses.js';
import { responseIdFor } from './response-ids.js';
import { ChatToResponsesStream, completionToResponse, maxStreamOutputItems } from './responses-from-chat.js';
import type { ResponseStreamEvent } from './responses-types.js';

const ctx: ResponseContext = { id: 'chatcmpl-abc123', created: 1_700_000_000, model: 'alias', includeUsage: true, promptTokensEstimate: 3 };
const request = parseResponsesRequest({ model: 'alias', input: 'Hi', tools: [{ type: 'function', name: 'f', parameters: { type: 'object', properties: {} } }], metadata: { team: 'a' } });
const usage: UsageRecord = { promptTokens: 12, completionTokens: 5, cachedTokens: 2, reasoningTokens: 1, estimated: false };
const PARALLEL_TOOLS = 'f82268f2fefd5cfbc7eeb59c297688be2f6ca0849a6e4f17851b517310841d9b.sse';
const REFUSAL = '173417d553406f034f643e5db3f8d591fb691ebac56f5ae39a22cc7d455c5353.sse';
const LENGTH = '4cc50a6135d254573a502310e6af1246f55edb6ad95fa24059f160996b68866d.sse';

/** OpenAI SSE bytes → Responses events through the OpenAI translator and the wrapper, cut at `cuts`. */
function replay(bytes: Uint8Array, cuts: number[] = []): ResponseStreamEvent[] {
  const t = new ChatToResponsesStream(new OpenAiStreamTranslator<ChatChunk>(ctx), ctx, request);
  const decoder = new SseDecoder();
  const out: ResponseStreamEvent[] = [];
  let from = 0;
  for (const cut of [...cuts, bytes.length]) {
    for (const e of decoder.push(bytes.subarray(from, cut))) out.push(...t.onEvent(e).chunks);
    from = cut;
  }
  out.push(...t.onEnd().chunks);
  return out;
}

function expectSpecValid(events: readonly ResponseStreamEvent[]): void {
  events.forEach((e, i) => {
    expect(e.sequence_number, `event ${i} (${e.type})`).toBe(i);
    expect(specErrors('ResponseStreamEvent', e), `${e.type}: ${JSON.stringify(e).slice(0, 300)}`).toEqual([]);
  });
}

function completion(message: Record<string, unknown>, finish: string): ChatCompletion {
  return { id: 'chatcmpl-abc123', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: null, ...message }, logprobs: null, finish_reason: finish }] } as ChatCompletion;
}

describe('completionToResponse', () => {
  it('text: one message item with an output_text part; usage; the echoed request fields; valid against the spec', () => {
    const r = completionToResponse(completion({ content: 'Hello' }, 'stop'), usage, ctx, request);
    expect(r).toMatchObject({ id: 'resp_abc123', object: 'response', created_at: 1_700_000_000, status: 'completed', model: 'alias', error: null, incomplete_details: null });
    expect(r.output).toEqual([{ type: 'message', id: 'msg_abc123', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Hello', annotations: [], logprobs: [] }] }]);
    expect(r.usage).toEqual({ input_tokens: 12, input_tokens_details: { cached_tokens: 2, cache_write_tokens: 0 }, output_tokens: 5, output_tokens_details: { reasoning_tokens: 1 }, total_tokens: 17 });
    expect(r).toMatchObject({ metadata: { team: 'a' }, tool_choice: 'auto', parallel_tool_calls: true, store: true, previous_response_id: null, text: { format: { type: 'text' } } });
    expect(r.tools).toEqual([{ type: 'function', name: 'f', description: null, parameters: { type: 'object', properties: {} }, strict: null }]);
    expect(specErrors('Response', r)).toEqual([]);
  });

  it('tool calls: function_call items (call_id is the chat call id), after any text', () => {
    const calls = [
      { id: 'call_1', type: 'function', function: { name: 'a', arguments: '{"x":1}' } },
      { id: 'call_2', type: 'function', function: { name: 'b', arguments: '{}' } },
    ];
    const r = completionToResponse(completion({ content: 'Let me look.', tool_calls: calls }, 'tool_calls'), usage, ctx, request);
    expect(r.output.map((i) => [i.type, i.id, i.call_id, i.name, i.arguments, i.status])).toEqual([
      ['message', 'msg_abc123', undefined, undefined, undefined, 'completed'],
      ['function_call', 'fc_abc123_0', 'call_1', 'a', '{"x":1}', 'completed'],
      ['function_call', 'fc_abc123_1', 'call_2', 'b', '{}', 'completed'],
    ]);
    expect(specErrors('Response', r)).toEqual([]);
  });

  it('a refusal is a refusal part; length and content_filter are incomplete, saying why', () => {
    const refusal = completionToResponse(completion({ content: '', refusal: 'No.' }, 'stop'), usage, ctx, request);
    expect(refusal.output[0]!.content).toEqual([{ type: 'refusal', refusal: 'No.' }]);
    const cut = completionToResponse(completion({ content: 'Hel' }, 'length'), usage, ctx, request);
    expect(cut).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } });
    expect(cut.output[0]!.status).toBe('incomplete');
    expect(completionToResponse(completion({ content: '' }, 'content_filter'), usage, ctx, request)).toMatchObject({ status: 'incomplete', incomplete_details: { reason: 'content_filter' }, output: [] });
    for (const r of [refusal, cut]) expect(specErrors('Response', r)).toEqual([]);
  });

  it('ids: resp_ from our completion id', () => {
    expect(responseIdFor({ id: 'chatcmpl-XYZ' })).toBe('resp_XYZ');
  });
});

describe('ChatToResponsesStream over recorded OpenAI streams', () => {
  it.each(openAiStreamNames())('%s: numbered, spec-valid events; the final response matches the deltas', (name) => {
    const events = replay(openAiStreamBytes(name));
    expectSpecValid(events);
    expect(events[0]!.type).toBe('response.created');
    const last = events.at(-1)!;
    expect(['response.completed', 'response.incomplete']).toContain(last.type);
    const response = last.response as Record<string, any>;
    expect(specErrors('Response', response)).toEqual([]);
    expect(response.usage.total_tokens).toBeGreaterThan(0);
    for (const item of response.output) {
      if (item.type === 'function_call') {
        const args = events.filter((e) => e.type === 'response.function_call_arguments.delta' && e.item_id === item.id).map((e) => e.delta).join('');
        expect(args).toBe(item.arguments);
      } else {
        const text = events.filter((e) => e.type === 'response.output_text.delta' && e.item_id === item.id).map((e) => e.delta).join('');
        expect(text).toBe(item.content.filter((p: any) => p.type === 'output_text').map((p: any) => p.text).join(''));
      }
    }
  });

  it('parallel tool calls: one function_call item each, with its own output_index', () => {
    const events = replay(openAiStreamBytes(PARALLEL_TOOLS));
    const added = events.filter((e) => e.type === 'response.output_item.added').map((e) => [e.output_index, (e.item as any).type, (e.item as any).name]);
    expect(added).toEqual([[0, 'function_call', 'GetWeatherArgs'], [1, 'function_call', 'get_stock_price']]);
    expect(events.at(-1)).toMatchObject({ type: 'response.completed', response: { usage: { input_tokens: 149, output_tokens: 60 } } });
  });

  it('a refusal streams as a refusal part; a length finish is response.incomplete', () => {
    const refusal = replay(openAiStreamBytes(REFUSAL));
    expect(refusal.some((e) => e.type === 'response.refusal.delta')).toBe(true);
    expect(refusal.find((e) => e.type === 'response.refusal.done')).toMatchObject({ content_index: 0 });
    expect(replay(openAiStreamBytes(LENGTH)).at(-1)).toMatchObject({ type: 'response.incomplete', response: { status: 'incomplete', incomplete_details: { reason: 'max_output_tokens' } } });
  });

  it('an upstream error passes through untouched; a stream that ends without [DONE] still throws', () => {
    const t = new ChatToResponsesStream(new OpenAiStreamTranslator<ChatChunk>(ctx), ctx, request);
    const step = t.onEvent({ event: undefined, id: undefined, data: '{"error":{"message":"boom","type":"server_error"}}' });
    expect(step.error?.message).toBe('boom');
    expect(() => t.onEnd()).toThrow(UpstreamProtocolError);
  });
});

describe('ChatToResponsesStream over scripted chunks', () => {
  it('interleaved parallel call fragments go to their own items; text after a call opens a new message item', () => {
    const events = run([
      delta({ role: 'assistant', content: 'Checking.' }),
      delta(tool(0, '{"a"', { id: 'call_a', name: 'fa' })),
      delta(tool(1, '{"b"', { id: 'call_b', name: 'fb' })),
      delta(tool(0, ':1}')),
      delta(tool(1, ':2}')),
      delta({ content: 'Done.' }),
      delta({}, 'tool_calls'),
    ]);
    expectSpecValid(events);
    const argsDeltas = events.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => [e.output_index, e.delta]);
    expect(argsDeltas).toEqual([[1, '{"a"'], [2, '{"b"'], [1, ':1}'], [2, ':2}']]);
    const output = (events.at(-1)!.response as any).output;
    expect(output.map((i: any) => [i.type, i.id, i.arguments ?? i.content[0].text])).toEqual([
      ['message', 'msg_abc123', 'Checking.'],
      ['function_call', 'fc_abc123_0', '{"a":1}'],
      ['function_call', 'fc_abc123_1', '{"b":2}'],
      ['message', 'msg_abc123_1', 'Done.'],
    ]);
    // Every item added is done exactly once, and nothing is said about an item after its done.
    const doneAt = new Map<number, number>();
    events.forEach((e, i) => {
      if (e.type === 'response.output_item.done') doneAt.set(e.output_index as number, i);
    });
    expect([...doneAt.keys()].sort()).toEqual([0, 1, 2, 3]);
    events.forEach((e, i) => {
      if (e.type !== 'response.output_item.done' && typeof e.output_index === 'number') expect(i).toBeLessThan(doneAt.get(e.output_index)!);
    });
  });

  it('a stream that opens more output items than the cap is the upstream’s protocol error', () => {
    const calls = Array.from({ length: maxStreamOutputItems + 1 }, (_, i) => delta(tool(i, '{}', { id: `call_${i}`, name: 'f' })));
    expect(() => run(calls)).toThrow(UpstreamProtocolError);
    expect(() => run(calls.slice(0, maxStreamOutputItems))).not.toThrow();
  });

  it('an empty stream still opens and completes the response', () => {
    const events = run([delta({}, 'stop')]);
    expect(events.map((e) => e.type)).toEqual(['response.created', 'response.in_progress', 'response.completed']);
    expectSpecValid(events);
  });
});

describe('commit point and final usage of Responses events', () => {
  it('opening events do not commit; text, a function call item, its arguments and the end do', () => {
    const events = replay(openAiStreamBytes(PARALLEL_TOOLS));
    const committing = events.filter(responsesEventHasContent).map((e) => e.type);
    expect(committing[0]).toBe('response.output_item.added');
    expect(responsesEventHasContent({ type: 'response.created' })).toBe(false);
    expect(responsesEventHasContent({ type: 'response.in_progress' })).toBe(false);
    expect(responsesEventHasContent({ type: 'response.output_item.added', item: { type: 'message' } })).toBe(false);
    expect(responsesEventHasContent({ type: 'response.content_part.added' })).toBe(false);
    expect(responsesEventHasContent({ type: 'response.output_text.delta', delta: '' })).toBe(false);
    expect(responsesEventHasContent({ type: 'response.output_text.delta', delta: 'x' })).toBe(true);
    expect(responsesEventHasContent({ type: 'response.completed' })).toBe(true);
  });

  it('the final usage is response.completed’s (or .incomplete’s), by reference, so the cost can be added to it', () => {
    const last = replay(openAiStreamBytes(LENGTH)).at(-1)!;
    const u = responsesFinalUsage(last);
    expect(u).toBe((last.response as any).usage);
    expect(responsesFinalUsage({ type: 'response.output_text.delta', delta: 'x' })).toBeUndefined();
  });
});

describe('the Responses SSE format', () => {
  it('names every event; an error is one error event numbered after the last event sent; formats are per stream', () => {
    const a = responsesSse();
    expect(a.frame({ type: 'response.created', sequence_number: 0 })).toBe('event: response.created\ndata: {"type":"response.created","sequence_number":0}\n\n');
    a.frame({ type: 'response.output_text.delta', sequence_number: 7 });
    const wire = a.error(new GatewayError('upstream_error', 'boom'));
    expect(wire.startsWith('event: error\ndata: ')).toBe(true);
    const event = JSON.parse(wire.slice('event: error\ndata: '.length));
    expect(event).toEqual({ type: 'error', code: 'upstream_error', message: 'boom', param: null, sequence_number: 8 });
    expect(specErrors('ResponseStreamEvent', event)).toEqual([]);
    expect(a.end).toBe('');
    expect(JSON.parse(responsesSse().error(new GatewayError('upstream_error', 'x')).split('data: ')[1]!).sequence_number).toBe(0);
  });
});

describe('golden translations (OpenAI chat → Responses events, for /v1/responses), reviewed and committed under golden/', () => {
  it.each(openAiStreamNames())('%s → Responses events', async (name) => {
    const format = responsesSse();
    const wire = replay(openAiStreamBytes(name)).map((e) => format.frame(e)).join('');
    await expect(wire).toMatchFileSnapshot(`./golden/${name.slice(0, 8)}.responses-events.sse`);
  });

  // Each split replays the whole stream, so the cost is quadratic in its length: the 47 KB
  // logprobs recording alone took 56 s. Streams up to 16 KB cover every event kind it has.
  const splittable = openAiStreamNames().filter((name) => openAiStreamBytes(name).length <= 16_384);
  it('only the largest recording is left out of the split', () => {
    expect(splittable.length).toBeGreaterThanOrEqual(openAiStreamNames().length - 1);
  });
  it.each(splittable)('%s split in two at every byte offset gives the same events', { timeout: 60_000 }, (name) => {
    const bytes = openAiStreamBytes(name);
    const whole = JSON.stringify(replay(bytes));
    for (let cut = 1; cut < bytes.length; cut++) {
      const got = JSON.stringify(replay(bytes, [cut]));
      if (got !== whole) expect(got, `cut at byte ${cut}`).toBe(whole);
    }
  });
});

/** A chat translator that hands out the given chunks, one event each, then ends cleanly. */
function run(chunks: ChatChunk[]): ResponseStreamEvent[] {
  let i = 0;
  const inner = {
    onEvent: () => ({ chunks: [chunks[i++]!], done: false }),
    onEnd: () => ({ chunks: [], done: true }),
    usage: () => usage,
  };
  const t = new ChatToResponsesStream(inner, ctx, request);
  const out: ResponseStreamEvent[] = [];
  for (let k = 0; k < chunks.length; k++) out.push(...t.onEvent({ event: undefined, id: undefined, data: '' }).chunks);
  out.push(...t.onEnd().chunks);
  return out;
}
const delta = (d: Record<string, unknown>, finish: string | null = null): ChatChunk =>
  ({ id: 'x', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: d, finish_reason: finish }] }) as unknown as ChatChunk;
const tool = (index: number, args: string, head?: { id: string; name: string }) => ({
  tool_calls: [{ index, ...(head ? { id: head.id, type: 'function' } : {}), function: { ...(head ? { name: head.name } : {}), arguments: args } }],
});
