import { describe, expect, it } from 'vitest';
import { fixtureBytes, fixtureCases, fixtureJson, replay, splits } from '../../../test/helpers/golden.js';
import { parseChatRequest } from '../../api/parse-chat.js';
import { parseEmbeddingsRequest } from '../../api/parse-embeddings.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { base64ToFloats } from '../embeddings-encoding.js';
import { UpstreamProtocolError, type ResponseContext, type TargetInfo } from '../types.js';
import { geminiAdapter } from './adapter.js';
import { durationMs } from './error.js';
import { chatUpstreamCall } from '../parameter-policy.js';

const ctx = (includeUsage = true): ResponseContext => ({ id: 'chatcmpl-golden0001', created: 1_700_000_000, model: 'alias', includeUsage, promptTokensEstimate: 11 });
const target = (upstreamModel = 'gemini-2.5-flash'): TargetInfo => ({ upstreamModel, basePath: '/v1beta' });
const hi = [{ role: 'user', content: 'Hi' }];

function refusal(body: Record<string, unknown>, model?: string): GatewayError {
  try {
    chatUpstreamCall(geminiAdapter, parseChatRequest({ model: 'alias', messages: hi, ...body }), target(model));
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

describe('Gemini request translation (golden files)', () => {
  it.each(fixtureCases('gemini', 'request', '.openai.json'))('%s', (name) => {
    const expected = fixtureJson('gemini', `request-${name}.gemini.json`);
    const call = geminiAdapter.chatRequest(parseChatRequest(fixtureJson('gemini', `request-${name}.openai.json`)), target(expected.upstreamModel));
    expect(call.method).toBe('POST');
    expect(call.path).toBe(expected.path);
    expect(JSON.parse(call.body)).toEqual(expected.body);
    // No credentials here: upstream/ adds x-goog-api-key.
    expect(Object.keys(call.headers).sort()).toEqual(['accept', 'content-type']);
  });

  it('parameters Gemini cannot carry are refused with a 400 naming them', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ logprobs: true }, 'logprobs'],
      // The first refused field in the client's order is named.
      [{ top_logprobs: 2, logprobs: true }, 'top_logprobs'],
      [{ logit_bias: { '1': 5 } }, 'logit_bias'],
      [{ reasoning_effort: 'low' }, 'reasoning_effort'],
      [{ parallel_tool_calls: false }, 'parallel_tool_calls'],
      [{ modalities: ['text', 'audio'] }, 'modalities'],
      [{ tools: [{ type: 'custom', custom: { name: 'x' } }] }, 'tools[0]'],
      [{ tool_choice: { type: 'allowed_tools', allowed_tools: { mode: 'auto', tools: [] } } }, 'tool_choice'],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x.test/a.png' } }] }] }, 'messages[0].content[0].image_url.url'],
      [{ messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-1' } }] }] }, 'messages[0].content[0].file'],
      [{ messages: [{ role: 'function', name: 'f', content: 'x' }] }, 'messages[0].role'],
      [{ messages: [{ role: 'tool', tool_call_id: 'nope', content: 'x' }] }, 'messages[0].tool_call_id'],
      [{ messages: [{ role: 'system', content: [{ type: 'image_url', image_url: { url: 'data:image/png;base64,AA==' } }] }, ...hi] }, 'messages[0].content[0]'],
      [{ messages: [{ role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '{oops' } }] }] }, 'messages[0].tool_calls[0].function.arguments'],
      [{ messages: [{ role: 'system', content: 'only a system prompt' }] }, 'messages'],
    ];
    for (const [body, param] of cases) {
      const err = refusal(body);
      expect([err.status, err.param]).toEqual([400, param]);
    }
    expect(refusal({ logprobs: true }).message).toContain('Gemini');
  });

  it('Gemini 2.x models get no placeholder signature on replayed calls', () => {
    const body = {
      model: 'alias',
      messages: [...hi, { role: 'assistant', tool_calls: [{ id: 'x', type: 'function', function: { name: 'f', arguments: '{}' } }] }, { role: 'tool', tool_call_id: 'x', content: 'ok' }],
    };
    const sent = JSON.parse(geminiAdapter.chatRequest(parseChatRequest(body), target('gemini-2.0-flash')).body);
    expect(sent.contents[1]).toEqual({ role: 'model', parts: [{ functionCall: { name: 'f', args: {} } }] });
  });
});

describe('Gemini response translation (golden files)', () => {
  it.each(fixtureCases('gemini', 'response', '.gemini.json'))('%s', (name) => {
    const expected = fixtureJson('gemini', `response-${name}.openai.json`);
    // The goldens hold what the client gets; the reported modelVersion is checked below.
    const { completion, usage } = geminiAdapter.chatResponse(fixtureJson('gemini', `response-${name}.gemini.json`), ctx());
    expect({ completion, usage }).toEqual(expected);
  });

  it('recorded responses (vercel/ai): text, tool call and reasoning', () => {
    const text = geminiAdapter.chatResponse(fixtureJson('gemini', 'recorded/google-text.json'), ctx());
    expect(text.completion.choices[0]?.message.content).toBe("There are **3** r's in strawberry.\n\nHere is the breakdown: st**r**awbe**rr**y.");
    // totalTokenCount 281 = 9 prompt + 28 candidates + 244 thoughts.
    expect(text.usage).toEqual({ promptTokens: 9, completionTokens: 272, cachedTokens: 0, reasoningTokens: 244, estimated: false });
    expect(text.completion.usage?.total_tokens).toBe(281);
    const tool = geminiAdapter.chatResponse(fixtureJson('gemini', 'recorded/google-tool-call.json'), ctx());
    const call = tool.completion.choices[0]?.message.tool_calls?.[0];
    expect(tool.completion.choices[0]?.finish_reason).toBe('tool_calls');
    expect(call?.function).toEqual({ name: 'weather', arguments: '{"location":"San Francisco"}' });
    expect(call?.id).toMatch(/^call_golden0001_0~sig~EskgCsYg/);
    expect(tool.usage.completionTokens + tool.usage.promptTokens).toBe(937);
  });

  it('malformed bodies are protocol errors', () => {
    for (const body of [null, [], 'x', { candidates: 'no' }, {}, { candidates: [{ content: { parts: [{ functionCall: { args: {} } }] } }] }]) {
      expect(() => geminiAdapter.chatResponse(body, ctx())).toThrow(UpstreamProtocolError);
    }
  });
});

describe('Gemini stream translation (golden files, every byte split)', () => {
  it.each(fixtureCases('gemini', 'stream', '.openai.json'))('%s', async (name) => {
    const bytes = fixtureBytes('gemini', `stream-${name}.gemini.sse`);
    const expected = fixtureJson('gemini', `stream-${name}.openai.json`);
    for (const parts of splits(bytes)) {
      const translator = geminiAdapter.chatStream(ctx());
      const got = await replay(parts, translator, 'sse');
      expect(got.thrown).toBeUndefined();
      expect(got.chunks).toEqual(expected.chunks);
      expect(translator.usage()).toEqual(expected.usage);
    }
    // Without include_usage the same chunks minus the usage chunk.
    const plain = await replay([bytes], geminiAdapter.chatStream(ctx(false)), 'sse');
    expect(plain.chunks).toEqual(expected.chunks.filter((c: { choices: unknown[] }) => c.choices.length > 0));
  });

  it('an in-band error event: the chunks before it, then the error (with the RPC status as code)', async () => {
    for (const parts of splits(fixtureBytes('gemini', 'stream-error.gemini.sse'))) {
      const got = await replay(parts, geminiAdapter.chatStream(ctx()), 'sse');
      expect(got.thrown).toBeUndefined();
      expect(got.chunks.map((c) => c.choices[0]?.delta)).toEqual([{ role: 'assistant', content: 'Once upon' }]);
      expect(got.error).toEqual({ message: 'The model is overloaded. Please try again later.', type: 'server_error', code: 'unavailable', param: null });
    }
  });

  it('a body that ends before a finishReason is a truncation', async () => {
    const bytes = fixtureBytes('gemini', 'stream-text.gemini.sse');
    const cut = bytes.subarray(0, bytes.indexOf('data:', 10));
    const got = await replay([cut], geminiAdapter.chatStream(ctx()), 'sse');
    expect(got.thrown).toBeInstanceOf(UpstreamProtocolError);
    expect(got.chunks).toHaveLength(1);
  });

  it.each(['text', 'reasoning', 'tool-call'])('recorded stream google-%s (vercel/ai), framed as the service frames it', async (name) => {
    const lines = fixtureBytes('gemini', `recorded/google-${name}.chunks.txt`).toString('utf8').split('\n').filter((l) => l !== '');
    const bytes = Buffer.from(lines.map((l) => `data: ${l}\r\n\r\n`).join(''), 'utf8');
    const whole = JSON.parse(fixtureBytes('gemini', `recorded/google-${name}.json`).toString('utf8'));
    for (const parts of splits(bytes)) {
      const translator = geminiAdapter.chatStream(ctx());
      const got = await replay(parts, translator, 'sse');
      expect(got.thrown).toBeUndefined();
      const choices = got.chunks.flatMap((c) => c.choices);
      const text = choices.map((c) => c.delta.content ?? '').join('');
      const finish = choices.filter((c) => c.finish_reason !== null).map((c) => c.finish_reason);
      const last = JSON.parse(lines.at(-1)!);
      expect(translator.usage()).toMatchObject({ promptTokens: last.usageMetadata.promptTokenCount, reasoningTokens: last.usageMetadata.thoughtsTokenCount, estimated: false });
      expect(got.chunks.at(-1)?.usage?.total_tokens).toBe(last.usageMetadata.totalTokenCount);
      if (name === 'tool-call') {
        expect(finish).toEqual(['tool_calls']);
        expect(choices.flatMap((c) => c.delta.tool_calls ?? []).map((t) => t.function)).toEqual([{ name: 'weather', arguments: '{"location":"San Francisco"}' }]);
      } else {
        expect(finish).toEqual(['stop']);
        // The streamed text is the same answer the whole response gives, modulo sampling: it starts alike.
        expect(text.slice(0, 10)).toBe(whole.candidates[0].content.parts[0].text.slice(0, 10));
      }
    }
  });
});

describe('Gemini errors', () => {
  it('the recorded 429 (vercel/ai): RPC status as code, RetryInfo delay as retryAfterMs', () => {
    const info = geminiAdapter.errorInfo(429, fixtureJson('gemini', 'recorded/google-429-retry-info.json'));
    expect(info).toEqual({ message: 'You exceeded your current quota, please check your plan.', type: 'rate_limit_error', code: 'resource_exhausted', param: null, retryAfterMs: 34_400 });
  });

  it('other shapes: plain text, missing message, key-shaped strings scrubbed', () => {
    expect(geminiAdapter.errorInfo(400, { error: { code: 400, message: 'API key not valid. key=AIzaSyD-secret', status: 'INVALID_ARGUMENT' } })).toMatchObject({
      type: 'invalid_request_error',
      code: 'invalid_argument',
      message: 'API key not valid. key=[redacted]',
    });
    expect(geminiAdapter.errorInfo(502, '<html>bad gateway</html>')).toMatchObject({ type: 'server_error', code: null, message: '<html>bad gateway</html>' });
    expect(geminiAdapter.errorInfo(404, {})).toMatchObject({ type: 'not_found_error', message: 'upstream answered 404' });
  });

  it('protobuf Durations', () => {
    expect([durationMs('34.4s'), durationMs('1s'), durationMs('0.250s'), durationMs({ seconds: '2', nanos: 500_000_000 })]).toEqual([34_400, 1_000, 250, 2_500]);
    expect([durationMs('1m'), durationMs('-1s'), durationMs(3), durationMs(undefined)]).toEqual([undefined, undefined, undefined, undefined]);
    // A negative nanos cannot make a wait negative.
    expect(durationMs({ seconds: 0, nanos: -5e9 })).toBe(0);
  });

  it('RetryInfo beyond an hour is read as an hour (a cooldown is then capped by retry.maxCooldownMs)', () => {
    const info = geminiAdapter.errorInfo(429, { error: { code: 429, message: 'quota', status: 'RESOURCE_EXHAUSTED', details: [{ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: '99999999s' }] } });
    expect(info.retryAfterMs).toBe(3_600_000);
  });
});

describe('Gemini embeddings', () => {
  it('batchEmbedContents request; floats or base64 out; usage estimated', () => {
    const request = parseEmbeddingsRequest({ model: 'alias', input: ['a b', 'c'], dimensions: 3 });
    const call = geminiAdapter.embeddingsRequest!(request, target('text-embedding-004'));
    expect(call.path).toBe('/v1beta/models/text-embedding-004:batchEmbedContents');
    expect(JSON.parse(call.body)).toEqual({
      requests: [
        { model: 'models/text-embedding-004', content: { parts: [{ text: 'a b' }] }, outputDimensionality: 3 },
        { model: 'models/text-embedding-004', content: { parts: [{ text: 'c' }] }, outputDimensionality: 3 },
      ],
    });
    const upstream = { embeddings: [{ values: [0.5, -0.25, 1] }, { values: [0, 0.125, -1] }] };
    const floats = geminiAdapter.embeddingsResponse!(upstream, { model: 'alias', encodingFormat: 'float', promptTokensEstimate: 2 });
    expect(floats.response.data.map((d) => d.embedding)).toEqual([[0.5, -0.25, 1], [0, 0.125, -1]]);
    expect(floats.usage).toMatchObject({ promptTokens: 2, estimated: true });
    const b64 = geminiAdapter.embeddingsResponse!(upstream, { model: 'alias', encodingFormat: 'base64', promptTokensEstimate: 2 });
    expect(base64ToFloats(b64.response.data[1]!.embedding as string)).toEqual([0, 0.125, -1]);
    expect(() => geminiAdapter.embeddingsRequest!(parseEmbeddingsRequest({ model: 'alias', input: [1, 2, 3] }), target())).toThrow(GatewayError);
  });
});

describe('Gemini n > 1 streams', () => {
  it('each candidate index is its own choice, with its own role chunk and finish', async () => {
    const event = (parts: object[], finish?: string) =>
      `data: ${JSON.stringify({
        candidates: [0, 1].map((index) => ({ content: { parts, role: 'model' }, index, ...(finish ? { finishReason: finish } : {}) })),
        usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 4, totalTokenCount: 7 },
      })}\r\n\r\n`;
    const bytes = Buffer.from(event([{ text: 'a' }]) + event([{ text: 'b' }], 'STOP'));
    const got = await replay([bytes], geminiAdapter.chatStream(ctx()), 'sse');
    const byIndex = (i: number) => got.chunks.flatMap((c) => c.choices).filter((c) => c.index === i);
    for (const i of [0, 1]) {
      expect(byIndex(i).map((c) => [c.delta, c.finish_reason])).toEqual([
        [{ role: 'assistant', content: 'a' }, null],
        [{ content: 'b' }, null],
        [{}, 'stop'],
      ]);
    }
    expect(got.chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 4 });
  });

  it('a stream that ends with one of two candidates unfinished is a truncation', async () => {
    const bytes = Buffer.from(
      `data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: 'a' }] }, index: 0, finishReason: 'STOP' }, { content: { parts: [{ text: 'b' }] }, index: 1 }] })}\r\n\r\n`,
    );
    expect((await replay([bytes], geminiAdapter.chatStream(ctx()), 'sse')).thrown).toBeInstanceOf(UpstreamProtocolError);
  });
});

describe('Gemini usage when the provider reports none', () => {
  it('a stream without usageMetadata: usage estimated from the text and marked estimated', async () => {
    const bytes = Buffer.from(`data: ${JSON.stringify({ candidates: [{ content: { parts: [{ text: 'twelve chars' }], role: 'model' }, finishReason: 'STOP', index: 0 }] })}\r\n\r\n`);
    const translator = geminiAdapter.chatStream(ctx());
    const got = await replay([bytes], translator, 'sse');
    expect(translator.usage()).toEqual({ promptTokens: 11, completionTokens: 3, cachedTokens: 0, reasoningTokens: 0, estimated: true });
    expect(got.chunks.at(-1)?.usage).toMatchObject({ prompt_tokens: 11, completion_tokens: 3 });
  });
});

describe('Gemini modelVersion', () => {
  it('the model Gemini says answered is reported (JSON and stream); the client still sees the alias', () => {
    const body = { candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }] }, finishReason: 'STOP' }], modelVersion: 'gemini-2.5-flash-001' };
    const json = geminiAdapter.chatResponse(body, ctx());
    expect([json.completion.model, json.upstreamModel]).toEqual(['alias', 'gemini-2.5-flash-001']);
    const t = geminiAdapter.chatStream(ctx());
    t.onEvent({ event: undefined, id: undefined, data: JSON.stringify(body) });
    expect(t.upstreamModel?.()).toBe('gemini-2.5-flash-001');
  });
});
