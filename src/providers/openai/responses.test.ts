import { describe, expect, it } from 'vitest';
import { fixtureBytes, replay, splits } from '../../../test/helpers/golden.js';
import { specErrors } from '../../../test/helpers/openai-spec.js';
import type { ResponseStreamEvent } from '../../api/responses-types.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { refusingRemoteMedia } from '../remote-media.js';
import { UpstreamProtocolError, type ResponseContext, type TargetInfo } from '../types.js';
import { azureAdapter, openAiAdapter } from './adapter.js';
import { NativeResponsesStream, openAiResponsesRequest, openAiResponsesResponse } from './responses.js';

const ctx: ResponseContext = { id: 'chatcmpl-0123abcd', created: 1, model: 'alias', includeUsage: true, promptTokensEstimate: 7 };
const OUR_ID = 'resp_0123abcd';
const target: TargetInfo = { upstreamModel: 'gpt-4o-mini', basePath: '/v1', responsesApi: true };

/** A recorded chunks file (one data payload a line) as the SSE bytes OpenAI sends: `event:` then `data:`. */
function recordedSse(name: string): Buffer {
  const lines = fixtureBytes('openai-responses', name).toString('utf8').split('\n').filter((l) => l.trim() !== '');
  return Buffer.from(lines.map((l) => `event: ${(JSON.parse(l) as { type: string }).type}\ndata: ${l}\n\n`).join(''), 'utf8');
}

function sse(events: ReadonlyArray<Record<string, unknown>>): Buffer {
  return Buffer.from(events.map((e) => `event: ${String(e.type)}\ndata: ${JSON.stringify(e)}\n\n`).join(''), 'utf8');
}

const created = (seq: number) => ({ type: 'response.created', sequence_number: seq, response: { id: 'resp_up', object: 'response', model: 'gpt-4o-mini-2024-07-18', status: 'in_progress', output: [], usage: null } });
const inProgress = (seq: number) => ({ ...created(seq), type: 'response.in_progress' });
const delta = (seq: number, text: string) => ({ type: 'response.output_text.delta', sequence_number: seq, item_id: 'msg_1', output_index: 0, content_index: 0, delta: text, logprobs: [] });
const completed = (seq: number, usage: unknown) => ({ type: 'response.completed', sequence_number: seq, response: { id: 'resp_up', object: 'response', model: 'gpt-4o-mini-2024-07-18', status: 'completed', output: [], usage } });

describe('openAiResponsesRequest', () => {
  const native = {
    model: 'alias',
    input: [
      { role: 'user', content: 'hi' },
      { type: 'reasoning', id: 'rs_1', summary: [] },
      { type: 'reasoning', id: 'rs_2', summary: [], encrypted_content: 'gAAAA' },
      { type: 'reasoning', id: 'rs_3', summary: [], encrypted_content: '' },
      { role: 'assistant', content: 'hello' },
    ],
    previous_response_id: 'resp_old',
    store: true,
    temperature: 0.5,
  };

  it('sends the native body with the upstream model, store false, stream, no previous_response_id, and only resolvable reasoning items', () => {
    const call = openAiResponsesRequest(native, target, true);
    expect(call).toMatchObject({ method: 'POST', path: '/v1/responses', headers: { 'content-type': 'application/json', accept: 'text/event-stream' } });
    expect(JSON.parse(call.body)).toEqual({
      model: 'gpt-4o-mini',
      input: [{ role: 'user', content: 'hi' }, { type: 'reasoning', id: 'rs_2', summary: [], encrypted_content: 'gAAAA' }, { role: 'assistant', content: 'hello' }],
      store: false,
      stream: true,
      temperature: 0.5,
    });
    expect(JSON.parse(openAiResponsesRequest({ model: 'alias', input: 'hi' }, target, false).body)).toEqual({ model: 'gpt-4o-mini', input: 'hi', store: false, stream: false });
  });

  it('Azure: /openai/v1/responses without api-version, /openai/responses?api-version= on the classic surface', () => {
    expect(azureAdapter.responsesRequest!({ input: 'x' }, { upstreamModel: 'my-deploy', basePath: '/openai/v1' }, false).path).toBe('/openai/v1/responses');
    const classic = azureAdapter.responsesRequest!({ input: 'x' }, { upstreamModel: 'my deploy', basePath: '/openai', apiVersion: '2025-04-01-preview' }, false);
    expect(classic.path).toBe('/openai/responses?api-version=2025-04-01-preview');
    expect(JSON.parse(classic.body)).toMatchObject({ model: 'my deploy' });
  });

  it('a deployment refusing remote media refuses an input_image URL, naming it, before anything is sent', () => {
    const refusing = refusingRemoteMedia(openAiAdapter, 'local');
    const input = [{ role: 'user', content: [{ type: 'input_text', text: 'see' }, { type: 'input_image', image_url: 'http://169.254.169.254/x.png' }] }];
    expect(() => refusing.responsesRequest!({ input }, target, false)).toThrow(GatewayError);
    expect(() => refusing.responsesRequest!({ input }, target, false)).toThrow(/'input\[0\]\.content\[1\]\.image_url' is a remote URL/);
    const output = [{ type: 'function_call_output', call_id: 'c', output: [{ type: 'input_file', file_url: 'https://x/y.pdf' }] }];
    expect(() => refusing.responsesRequest!({ input: output }, target, false)).toThrow(/'input\[0\]\.output\[0\]\.file_url'/);
    const inline = [{ role: 'user', content: [{ type: 'input_image', image_url: 'data:image/png;base64,AAAA' }] }];
    expect(JSON.parse(refusing.responsesRequest!({ input: inline }, target, false).body).input).toEqual(inline);
  });
});

describe('openAiResponsesResponse', () => {
  const body = {
    id: 'resp_upstream',
    object: 'response',
    created_at: 1788205737,
    status: 'completed',
    model: 'gpt-4o-mini-2024-07-18',
    store: false,
    output: [{ id: 'msg_u', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', annotations: [], logprobs: [], text: 'OK' }] }],
    usage: { input_tokens: 12, input_tokens_details: { cache_write_tokens: 3, cached_tokens: 4 }, output_tokens: 9, output_tokens_details: { reasoning_tokens: 5 }, total_tokens: 21 },
  };

  it('keeps the upstream object with our id and the alias; usage mapped to our record', () => {
    const { value, usage, upstreamModel } = openAiResponsesResponse(body, ctx);
    expect(value).toEqual({ ...body, id: OUR_ID, model: 'alias' });
    expect(usage).toEqual({ promptTokens: 12, completionTokens: 9, cachedTokens: 4, reasoningTokens: 5, cacheWriteTokens: 3, estimated: false });
    expect(upstreamModel).toBe('gpt-4o-mini-2024-07-18');
  });

  it('without usage: estimated, and shown in the Responses shape', () => {
    const { value, usage } = openAiResponsesResponse({ ...body, usage: null }, ctx);
    expect(usage).toMatchObject({ promptTokens: 7, cachedTokens: 0, reasoningTokens: 0, estimated: true });
    expect(usage.completionTokens).toBeGreaterThan(0);
    expect(value.usage).toEqual({ input_tokens: 7, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens: usage.completionTokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 7 + usage.completionTokens });
  });

  it("drops OpenAI's user: null (the spec and the SDK types say string, optional): absent, not null", () => {
    const { value } = openAiResponsesResponse({ ...body, user: null, safety_identifier: null }, ctx);
    expect(value).not.toHaveProperty('user');
    // Nullable in the spec: kept as sent.
    expect(value).toHaveProperty('safety_identifier', null);
    expect(openAiResponsesResponse({ ...body, user: 'u-1' }, ctx).value).toHaveProperty('user', 'u-1');
  });

  it('throws UpstreamProtocolError for a body that is not a response', () => {
    expect(() => openAiResponsesResponse({ object: 'chat.completion', choices: [] }, ctx)).toThrow(UpstreamProtocolError);
    expect(() => openAiResponsesResponse('oops', ctx)).toThrow(UpstreamProtocolError);
  });
});

/** Replays bytes through the real SSE decoder and the translator, in one read and split at every byte offset; every run must agree. */
async function replayAll(bytes: Buffer) {
  const runs = await Promise.all(splits(bytes).map((parts) => replay(parts, new NativeResponsesStream(ctx), 'sse')));
  for (const run of runs) {
    expect(run.chunks).toEqual(runs[0]!.chunks);
    expect(run.error).toEqual(runs[0]!.error);
    expect(String(run.thrown)).toEqual(String(runs[0]!.thrown));
  }
  return runs[0]!;
}

describe('NativeResponsesStream', () => {
  it('recorded text stream: every event forwarded in order, our id and alias in each response, usage from response.completed', async () => {
    const bytes = recordedSse('text.chunks.txt');
    const { chunks, error, thrown } = await replayAll(bytes);
    expect(error).toBeUndefined();
    expect(thrown).toBeUndefined();
    const recorded = fixtureBytes('openai-responses', 'text.chunks.txt').toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as ResponseStreamEvent);
    expect(chunks.map((c) => c.type)).toEqual(recorded.map((e) => e.type));
    expect(chunks.map((c) => c.sequence_number)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8]);
    for (const [i, c] of chunks.entries()) {
      if ('response' in c) expect(c.response).toMatchObject({ id: OUR_ID, model: 'alias' });
      else expect(c).toEqual(recorded[i]);
    }
    const last = chunks.at(-1)!.response as Record<string, unknown>;
    expect(last.usage).toEqual({ input_tokens: 12, input_tokens_details: { cache_write_tokens: 0, cached_tokens: 0 }, output_tokens: 2, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 14 });
    const t = new NativeResponsesStream(ctx);
    await replay([bytes], t, 'sse');
    expect(t.usage()).toEqual({ promptTokens: 12, completionTokens: 2, cachedTokens: 0, reasoningTokens: 0, estimated: false });
    expect(t.upstreamModel()).toBe('gpt-4o-mini-2024-07-18');
  });

  it('recorded function-call stream: items and argument deltas pass unchanged (obfuscation included)', async () => {
    const { chunks, error, thrown } = await replayAll(recordedSse('tool-call.chunks.txt'));
    expect(error).toBeUndefined();
    expect(thrown).toBeUndefined();
    expect(chunks).toHaveLength(12);
    expect(chunks[2]).toMatchObject({ type: 'response.output_item.added', item: { type: 'function_call', call_id: 'call_2FQdm3Br7Qb35YUBSkDR7kue', name: 'get_weather' } });
    const args = chunks.filter((c) => c.type === 'response.function_call_arguments.delta').map((c) => c.delta).join('');
    expect(args).toBe('{"city":"Beijing"}');
    expect(chunks[3]).toHaveProperty('obfuscation', 'H2d0mf8T42i5Ya');
    expect(chunks[11]!.response).toMatchObject({ id: OUR_ID, model: 'alias', status: 'completed' });
  });

  it("recorded function-call stream: arguments.done gets the function's name (OpenAI leaves it out; the spec and the SDK types require it)", async () => {
    const recorded = fixtureBytes('openai-responses', 'tool-call.chunks.txt').toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const doneAt = recorded.findIndex((e) => e.type === 'response.function_call_arguments.done');
    expect(recorded[doneAt]).not.toHaveProperty('name');
    const { chunks } = await replay([recordedSse('tool-call.chunks.txt')], new NativeResponsesStream(ctx), 'sse');
    expect(chunks[doneAt]).toEqual({ ...recorded[doneAt], name: 'get_weather' });
    for (const c of chunks) expect(specErrors('ResponseStreamEvent', c), c.type).toEqual([]);
    // A name the upstream did send is kept; a done event for an item never announced is left as it came.
    const t = new NativeResponsesStream(ctx);
    const ev = (e: Record<string, unknown>) => ({ event: String(e.type), data: JSON.stringify(e), id: undefined });
    t.onEvent(ev(created(0)));
    const named = t.onEvent(ev({ type: 'response.function_call_arguments.done', item_id: 'fc_x', name: 'own', output_index: 0, arguments: '{}', sequence_number: 1 }));
    expect(named.chunks.at(-1)).toMatchObject({ name: 'own' });
    const unknown = t.onEvent(ev({ type: 'response.function_call_arguments.done', item_id: 'fc_y', output_index: 1, arguments: '{}', sequence_number: 2 }));
    expect(unknown.chunks.at(-1)).not.toHaveProperty('name');
  });

  it('recorded error after response.in_progress: nothing forwarded (still before the commit point), the error mapped', async () => {
    const { chunks, error, thrown } = await replayAll(recordedSse('error.chunks.txt'));
    expect(chunks).toEqual([]);
    expect(thrown).toBeUndefined();
    expect(error).toMatchObject({ type: 'rate_limit_error', code: 'insufficient_quota', status: 429, param: null });
    expect(error!.message).toMatch(/^You exceeded your current quota/);
  });

  it("recorded stream: OpenAI's usage: null (in-progress) and user: null are left out, so every event is spec-valid", async () => {
    const { chunks } = await replay([recordedSse('text.chunks.txt')], new NativeResponsesStream(ctx), 'sse');
    const recorded = fixtureBytes('openai-responses', 'text.chunks.txt').toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as { response?: Record<string, unknown> });
    // What OpenAI sent: both null in the announcements, user null in the terminal event.
    expect(recorded[0]!.response).toMatchObject({ usage: null, user: null });
    expect(recorded.at(-1)!.response).toMatchObject({ user: null });
    for (const c of chunks) {
      if (!('response' in c)) continue;
      const r = c.response as Record<string, unknown>;
      expect(r).not.toHaveProperty('user');
      if (r.status === 'in_progress') expect(r).not.toHaveProperty('usage');
      else expect(r.usage).toMatchObject({ input_tokens: 12 });
      expect(specErrors('ResponseStreamEvent', c)).toEqual([]);
    }
  });

  it('holds response.created and in_progress until the first other event, then releases them in order', () => {
    const t = new NativeResponsesStream(ctx);
    const ev = (e: Record<string, unknown>) => t.onEvent({ event: String(e.type), data: JSON.stringify(e), id: undefined });
    expect(ev(created(0))).toEqual({ chunks: [], done: false });
    expect(ev(inProgress(1))).toEqual({ chunks: [], done: false });
    const step = ev(delta(2, 'Hi'));
    expect(step.chunks.map((c) => c.type)).toEqual(['response.created', 'response.in_progress', 'response.output_text.delta']);
    expect(step.chunks[0]!.response).toMatchObject({ id: OUR_ID, model: 'alias', status: 'in_progress' });
    expect(ev(delta(3, ' there')).chunks).toHaveLength(1);
  });

  it('an error event after content is reported with its mapping (flat spec shape); response.failed alone ends with its error', () => {
    const t = new NativeResponsesStream(ctx);
    const ev = (e: Record<string, unknown>) => t.onEvent({ event: String(e.type), data: JSON.stringify(e), id: undefined });
    ev(created(0));
    expect(ev(delta(1, 'Hi')).chunks).toHaveLength(2);
    expect(ev({ type: 'error', sequence_number: 2, code: 'server_error', message: 'The model failed.', param: null })).toEqual({
      chunks: [],
      done: false,
      error: { message: 'The model failed.', type: 'server_error', code: 'server_error', param: null, status: 500 },
    });
    const f = new NativeResponsesStream(ctx);
    f.onEvent({ event: 'response.created', data: JSON.stringify(created(0)), id: undefined });
    const failed = { ...created(1), type: 'response.failed', response: { ...created(1).response, status: 'failed', error: { code: 'invalid_prompt', message: 'Invalid prompt.' } } };
    expect(f.onEvent({ event: 'response.failed', data: JSON.stringify(failed), id: undefined })).toEqual({
      chunks: [],
      done: true,
      error: { message: 'Invalid prompt.', type: 'invalid_request_error', code: 'invalid_prompt', param: null, status: 400 },
    });
  });

  it('response.incomplete ends the stream (forwarded with our id); later events are dropped', () => {
    const t = new NativeResponsesStream(ctx);
    const ev = (e: Record<string, unknown>) => t.onEvent({ event: String(e.type), data: JSON.stringify(e), id: undefined });
    ev(delta(0, 'a'));
    const usage = { input_tokens: 5, input_tokens_details: { cached_tokens: 0 }, output_tokens: 16, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 21 };
    const step = ev({ ...completed(1, usage), type: 'response.incomplete' });
    expect(step.done).toBe(true);
    expect(step.chunks[0]!.response).toMatchObject({ id: OUR_ID, model: 'alias', usage });
    expect(ev(delta(2, 'late'))).toEqual({ chunks: [], done: true });
    expect(t.onEnd()).toEqual({ chunks: [], done: true });
    expect(t.usage()).toMatchObject({ promptTokens: 5, completionTokens: 16, estimated: false });
  });

  it('a terminal event without usage gets ours, estimated from what streamed', () => {
    const t = new NativeResponsesStream(ctx);
    const ev = (e: Record<string, unknown>) => t.onEvent({ event: String(e.type), data: JSON.stringify(e), id: undefined });
    ev(delta(0, 'Hello there my friend'));
    const final = ev(completed(1, null)).chunks[0]!.response as Record<string, any>;
    expect(t.usage()).toMatchObject({ promptTokens: 7, estimated: true });
    expect(final.usage).toEqual({ input_tokens: 7, input_tokens_details: { cached_tokens: 0, cache_write_tokens: 0 }, output_tokens: t.usage().completionTokens, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: 7 + t.usage().completionTokens });
  });

  it('a body that ends before a terminal event is a protocol error, usage then estimated from what streamed', async () => {
    const bytes = sse([created(0), inProgress(1), delta(2, 'Hello there my friend')]);
    const t = new NativeResponsesStream(ctx);
    const { chunks, thrown } = await replay(splits(bytes)[5]!, t, 'sse');
    expect(chunks.map((c) => c.type)).toEqual(['response.created', 'response.in_progress', 'response.output_text.delta']);
    expect(thrown).toBeInstanceOf(UpstreamProtocolError);
    expect(t.usage()).toMatchObject({ promptTokens: 7, estimated: true });
    expect(t.usage().completionTokens).toBeGreaterThan(0);
    const held = await replay([sse([created(0)])], new NativeResponsesStream(ctx), 'sse');
    expect(held.chunks).toEqual([]);
    expect(held.thrown).toBeInstanceOf(UpstreamProtocolError);
  });

  it('malformed events and endless announcements are protocol errors', () => {
    expect(() => new NativeResponsesStream(ctx).onEvent({ event: 'x', data: '{not json', id: undefined })).toThrow(UpstreamProtocolError);
    expect(() => new NativeResponsesStream(ctx).onEvent({ event: 'x', data: '{"no":"type"}', id: undefined })).toThrow(UpstreamProtocolError);
    const t = new NativeResponsesStream(ctx);
    expect(() => {
      for (let i = 0; i < 100; i++) t.onEvent({ event: 'response.in_progress', data: JSON.stringify(inProgress(i)), id: undefined });
    }).toThrow(/more than 8/);
  });
});
