import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { ChatChunk } from '../../api/chat-types.js';
import { concatFrames, eventFrame, exceptionFrame, frameFromDecodedLine } from '../../testing/fake-upstream/bedrock-frames.js';
import { AwsEventStreamDecoder } from '../../upstream/framing.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { UpstreamProtocolError, type ResponseContext, type StreamStep, type UpstreamErrorInfo } from '../types.js';
import { BedrockStreamTranslator } from './stream.js';

const FIXTURES = new URL('./fixtures/', import.meta.url);

const ctx = (includeUsage = true): ResponseContext => ({ id: 'chatcmpl-x', created: 1, model: 'alias', includeUsage, promptTokensEstimate: 7 });

/** The recorded stream as the binary body Bedrock sent: one event-stream message per line. */
function fixtureBody(name: string): Uint8Array {
  const lines = readFileSync(new URL(`${name}.chunks.txt`, FIXTURES), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return concatFrames(lines.map(frameFromDecodedLine));
}

interface Outcome {
  chunks: ChatChunk[];
  done: boolean;
  error: UpstreamErrorInfo | undefined;
  /** Chunks already out when `done` was first signalled (the pipeline stops reading there). */
  chunksAtDone: number | undefined;
}

/** Feeds the body in the given pieces through the real decoder and a fresh translator, like stream-body.ts. */
function replay(pieces: readonly Uint8Array[], includeUsage = true): Outcome & { translator: BedrockStreamTranslator } {
  const decoder = new AwsEventStreamDecoder();
  const translator = new BedrockStreamTranslator(ctx(includeUsage));
  const out: Outcome = { chunks: [], done: false, error: undefined, chunksAtDone: undefined };
  const take = (step: StreamStep): void => {
    out.chunks.push(...step.chunks);
    if (step.done && out.chunksAtDone === undefined) out.chunksAtDone = out.chunks.length;
    out.done ||= step.done;
    out.error ??= step.error;
  };
  for (const piece of pieces) for (const event of decoder.push(piece)) if (!out.done && !out.error) take(translator.onEvent(event));
  decoder.end();
  if (!out.done && !out.error) take(translator.onEnd());
  return { ...out, translator };
}

function summary(o: Outcome) {
  const text = o.chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
  const reasoning = o.chunks.map((c) => (c.choices[0]?.delta.reasoning_content as string | undefined) ?? '').join('');
  const calls: Array<{ id?: string; name?: string; arguments: string }> = [];
  for (const c of o.chunks) {
    for (const tc of c.choices[0]?.delta.tool_calls ?? []) {
      const call = (calls[tc.index] ??= { arguments: '' });
      if (tc.id !== undefined) call.id = tc.id;
      if (tc.function?.name !== undefined) call.name = tc.function.name;
      call.arguments += tc.function?.arguments ?? '';
    }
  }
  const finish = o.chunks.map((c) => c.choices[0]?.finish_reason).filter((f) => f);
  const usage = o.chunks.filter((c) => c.choices.length === 0).map((c) => c.usage);
  return { text, reasoning, calls, finish, usage, first: o.chunks[0]?.choices[0]?.delta };
}

const cases = [
  {
    name: 'amazon-bedrock-text',
    text: 'Let me count the "r"s in "strawberry":\n\ns-t-**r**-a-w-b-e-**r**-**r**-y\n\nThere are **3** r\'s in "strawberry."',
    reasoning: '',
    calls: [],
    finish: ['stop'],
    usage: { prompt_tokens: 22, completion_tokens: 55, total_tokens: 77 },
  },
  {
    name: 'amazon-bedrock-reasoning',
    text: 'There are **3** r\'s in "strawberry":\n\n1. st**r**awbe**r****r**y',
    reasoning: 'Let me count the r\'s in "strawberry":\n\ns-t-r-a-w-b-e-r-r-y\n\nr appears at positions 3, 8, and 9.\n\nSo there are 3 r\'s.',
    calls: [],
    finish: ['stop'],
    usage: { prompt_tokens: 51, completion_tokens: 94, total_tokens: 145 },
  },
  {
    // Recorded with metadata *before* messageStop: the translator must not depend on the order.
    name: 'amazon-bedrock-tool-call.1',
    text: '',
    reasoning: '',
    calls: [{ id: 'tool-use-id', name: 'test-tool', arguments: '{"value":"Sparkle Day"}' }],
    finish: ['tool_calls'],
    usage: { prompt_tokens: 125, completion_tokens: 45, total_tokens: 170 },
  },
  {
    name: 'amazon-bedrock-tool-no-args',
    text: "I'll update the issue list for you.",
    reasoning: '',
    calls: [{ id: 'tool-use-id', name: 'updateIssueList', arguments: '{}' }],
    finish: ['tool_calls'],
    usage: { prompt_tokens: 100, completion_tokens: 25, total_tokens: 125 },
  },
];

describe.each(cases)('ConverseStream fixture $name', (c) => {
  const body = fixtureBody(c.name);

  it('translates the recorded stream: text, reasoning, tool calls, finish reason, usage last', () => {
    const o = replay([body]);
    expect(o.error).toBeUndefined();
    expect(o.done).toBe(true);
    // Nothing after the end: the usage chunk is the very last one and follows the finish chunk.
    expect(o.chunksAtDone).toBe(o.chunks.length);
    const s = summary(o);
    expect(s.first).toMatchObject({ role: 'assistant' });
    expect(s).toMatchObject({ text: c.text, reasoning: c.reasoning, calls: c.calls, finish: c.finish });
    expect(s.usage).toHaveLength(1);
    expect(s.usage[0]).toMatchObject(c.usage);
    expect(o.chunks.at(-1)?.choices).toEqual([]);
    expect(o.chunks.at(-2)?.choices[0]?.finish_reason).toBe(c.finish[0]);
    for (const chunk of o.chunks) expect([chunk.id, chunk.model, chunk.object]).toEqual(['chatcmpl-x', 'alias', 'chat.completion.chunk']);
    expect(o.translator.usage()).toMatchObject({ promptTokens: c.usage.prompt_tokens, completionTokens: c.usage.completion_tokens, estimated: false });
  });

  it('decodes the same events when the body is split at every byte offset, and byte by byte', () => {
    // The translator is a pure function of the event sequence, so equal events mean equal chunks;
    // comparing events keeps this sweep fast (thousands of replays).
    const decodeAll = (pieces: readonly Uint8Array[]): string => {
      const decoder = new AwsEventStreamDecoder();
      let out = '';
      for (const piece of pieces) for (const e of decoder.push(piece)) out += `${e.event}\u0000${e.data}\u0001`;
      decoder.end();
      return out;
    };
    const whole = decodeAll([body]);
    const lines = readFileSync(new URL(`${c.name}.chunks.txt`, FIXTURES), 'utf8').trim().split('\n');
    expect(whole.split('\u0001').length - 1).toBe(lines.length);
    for (let at = 1; at < body.length; at++) {
      if (decodeAll([body.subarray(0, at), body.subarray(at)]) !== whole) expect.fail(`split at byte ${at} of ${body.length} changed the events`);
    }
    const bytes = Array.from({ length: body.length }, (_, i) => body.subarray(i, i + 1));
    expect(JSON.stringify(replay(bytes).chunks)).toBe(JSON.stringify(replay([body]).chunks));
  });

  it('sends no usage chunk when the client did not ask for one, but still knows the usage', () => {
    const o = replay([body], false);
    expect(o.chunks.some((ch) => ch.choices.length === 0)).toBe(false);
    expect(o.translator.usage().promptTokens).toBe(c.usage.prompt_tokens);
  });
});

describe('ConverseStream framing and edge cases', () => {
  const frames = (...f: Uint8Array[]): Uint8Array => concatFrames(f);
  const start = eventFrame('messageStart', { role: 'assistant' });
  const delta = (text: string): Uint8Array => eventFrame('contentBlockDelta', { contentBlockIndex: 0, delta: { text }, p: 'abc' });
  const stop = eventFrame('messageStop', { stopReason: 'max_tokens' });
  const metadata = eventFrame('metadata', { usage: { inputTokens: 10, outputTokens: 2, totalTokens: 12, cacheReadInputTokens: 4, cacheWriteInputTokens: 1 } });

  it('usage arriving after messageStop still reaches the client, with cache tokens normalised', () => {
    const o = replay([frames(start, delta('Hi'), stop, metadata)]);
    const s = summary(o);
    expect(s.finish).toEqual(['length']);
    expect(s.usage[0]).toEqual({
      prompt_tokens: 15,
      completion_tokens: 2,
      total_tokens: 17,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
  });

  it('keeps cache writes apart in the usage it reports for pricing', () => {
    const o = replay([frames(start, delta('Hi'), stop, metadata)]);
    expect(o.translator.usage()).toEqual({ promptTokens: 15, completionTokens: 2, cachedTokens: 4, cacheWriteTokens: 1, reasoningTokens: 0, estimated: false });
  });

  it('the stream is not over at messageStop: done only once metadata arrived', () => {
    const t = new BedrockStreamTranslator(ctx());
    const decoder = new AwsEventStreamDecoder();
    const steps = decoder.push(frames(start, delta('Hi'), stop, metadata)).map((e) => t.onEvent(e));
    expect(steps.map((s) => s.done)).toEqual([false, false, false, true]);
  });

  it('a body that ends after messageStop without metadata is complete, with estimated usage', () => {
    const o = replay([frames(start, delta('Hello there'), stop)]);
    expect(o.done).toBe(true);
    expect(o.translator.usage()).toMatchObject({ promptTokens: 7, estimated: true });
    expect(summary(o).usage[0]).toMatchObject({ prompt_tokens: 7 });
  });

  it('a body that ends before messageStop was cut: UpstreamProtocolError', () => {
    expect(() => replay([frames(start, delta('Hel'))])).toThrow(UpstreamProtocolError);
  });

  const flip = (bytes: Uint8Array, at: number, mask: number): void => void (bytes[at] = (bytes[at] ?? 0) ^ mask);

  it('a frame with a corrupted CRC is an UpstreamProtocolError, not garbage', () => {
    const good = delta('Hi');
    const badMessageCrc = good.slice();
    flip(badMessageCrc, badMessageCrc.length - 1, 0xff);
    expect(() => new AwsEventStreamDecoder().push(badMessageCrc)).toThrow(UpstreamProtocolError);
    const badPayload = good.slice();
    flip(badPayload, badPayload.length - 8, 0x01); // a payload byte: the message CRC no longer matches
    expect(() => new AwsEventStreamDecoder().push(badPayload)).toThrow(UpstreamProtocolError);
    const badPrelude = good.slice();
    flip(badPrelude, 8, 0xff); // the prelude CRC itself
    expect(() => new AwsEventStreamDecoder().push(badPrelude)).toThrow(UpstreamProtocolError);
  });

  it('a truncated frame at the end of the body is an UpstreamProtocolError', () => {
    const body = frames(start, delta('Hi'));
    const decoder = new AwsEventStreamDecoder();
    decoder.push(body.subarray(0, body.length - 3));
    expect(() => decoder.end()).toThrow(UpstreamProtocolError);
  });

  it.each([
    ['throttlingException', 429, 'rate_limit_error'],
    ['modelStreamErrorException', 500, 'server_error'],
    ['internalServerException', 500, 'server_error'],
    ['serviceUnavailableException', 503, 'server_error'],
    ['validationException', 400, 'invalid_request_error'],
    ['modelTimeoutException', 408, 'timeout_error'],
  ])('in-stream %s → one error with status %i', (type, status, errorType) => {
    const o = replay([frames(start, delta('Hi'), exceptionFrame(type, { message: `boom ${type}` }), stop, metadata)]);
    expect(o.error).toMatchObject({ status, type: errorType, message: `boom ${type}` });
    expect(o.error?.code).toBe(type.charAt(0).toUpperCase() + type.slice(1));
    expect(o.done).toBe(false);
    expect(summary(o).finish).toEqual([]);
  });

  it('an exception right after messageStart comes before any chunk, so the attempt can still be retried', () => {
    const o = replay([frames(start, exceptionFrame('throttlingException', { message: 'slow down' }))]);
    expect(o.chunks).toEqual([]);
    expect(o.error).toMatchObject({ status: 429, code: 'ThrottlingException' });
  });

  it('an empty answer still gets its role chunk, before the finish', () => {
    const o = replay([frames(start, eventFrame('messageStop', { stopReason: 'end_turn' }), metadata)]);
    expect(o.chunks.map((c) => c.choices[0]?.delta.role ?? c.choices[0]?.finish_reason ?? 'usage')).toEqual(['assistant', 'stop', 'usage']);
  });

  it('a toolUse delta for a block that never started as a tool is a protocol error', () => {
    const bad = eventFrame('contentBlockDelta', { contentBlockIndex: 3, delta: { toolUse: { input: '{}' } } });
    expect(() => replay([frames(start, bad)])).toThrow(UpstreamProtocolError);
  });

  it('parallel tool calls get their own indexes; unknown events are ignored', () => {
    const toolStart = (i: number, name: string): Uint8Array => eventFrame('contentBlockStart', { contentBlockIndex: i, start: { toolUse: { toolUseId: `id${i}`, name } } });
    const toolDelta = (i: number, input: string): Uint8Array => eventFrame('contentBlockDelta', { contentBlockIndex: i, delta: { toolUse: { input } } });
    const o = replay([
      frames(
        start,
        delta('Checking.'),
        eventFrame('contentBlockStop', { contentBlockIndex: 0 }),
        toolStart(1, 'a'),
        toolDelta(1, '{"x":'),
        toolDelta(1, '1}'),
        eventFrame('somethingNew', { contentBlockIndex: 1 }),
        toolStart(2, 'b'),
        toolDelta(2, '{"y":2}'),
        eventFrame('messageStop', { stopReason: 'tool_use' }),
        metadata,
      ),
    ]);
    expect(summary(o).calls).toEqual([
      { id: 'id1', name: 'a', arguments: '{"x":1}' },
      { id: 'id2', name: 'b', arguments: '{"y":2}' },
    ]);
  });

  it('a payload that is not JSON is a protocol error', () => {
    const t = new BedrockStreamTranslator(ctx());
    const event: SseEvent = { event: 'contentBlockDelta', data: 'not json', id: undefined };
    expect(() => t.onEvent(event)).toThrow(UpstreamProtocolError);
  });
});
