import { describe, expect, it } from 'vitest';
import { ChatToResponsesStream } from '../api/responses-from-chat.js';
import type { ResponseObject, ResponseStreamEvent } from '../api/responses-types.js';
import { GatewayError } from '../errors/gateway-error.js';
import { anthropicAdapter } from '../providers/anthropic/adapter.js';
import { openAiAdapter } from '../providers/openai/adapter.js';
import type { ProviderAdapter, ResponseContext, StreamTranslator, TargetInfo, UpstreamCall } from '../providers/types.js';
import { responsesOperation } from './operations.js';

const op = responsesOperation();
const ctx: ResponseContext = { id: 'chatcmpl-op1', created: 1, model: 'alias', includeUsage: true, promptTokensEstimate: 1 };
const chatTarget: TargetInfo = { upstreamModel: 'gpt-x', basePath: '/v1' };
const nativeTarget: TargetInfo = { ...chatTarget, responsesApi: true };

/** The OpenAI adapter with the native Responses methods part B adds, recording what it was given. */
function withNative(): { adapter: ProviderAdapter; calls: Array<Readonly<Record<string, unknown>>> } {
  const calls: Array<Readonly<Record<string, unknown>>> = [];
  const nativeCall: UpstreamCall = { method: 'POST', path: '/v1/responses', headers: {}, body: '{}' };
  const nativeStream = {} as StreamTranslator<ResponseStreamEvent>;
  const adapter: ProviderAdapter = {
    ...openAiAdapter,
    responsesRequest: (native) => {
      calls.push(native);
      return nativeCall;
    },
    responsesResponse: (body) => ({ value: body as ResponseObject, usage: { promptTokens: 1, completionTokens: 1, cachedTokens: 0, reasoningTokens: 0, estimated: false } }),
    responsesStream: () => nativeStream,
  };
  return { adapter, calls };
}

function refusal(f: () => unknown): GatewayError {
  try {
    f();
  } catch (err) {
    if (err instanceof GatewayError) return err;
    throw err;
  }
  throw new Error('no refusal');
}

describe('responsesOperation', () => {
  it('a deployment that serves the Responses API gets the native body, even with what chat cannot carry', () => {
    const { adapter, calls } = withNative();
    const r = op.parse({ model: 'alias', input: 'Hi', tools: [{ type: 'web_search' }], store: true }, {});
    const call = op.upstreamCall(adapter, r, nativeTarget);
    expect(call.path).toBe('/v1/responses');
    expect(calls[0]).toBe(r.native);
    // The upstream's object, with the client's store and previous_response_id (the upstream was sent store:false and none).
    expect(op.decode(adapter, r, { id: 'resp_x', object: 'response' }, ctx, nativeTarget).value).toEqual({ id: 'resp_x', object: 'response', store: true, previous_response_id: null });
    expect(op.streamTranslator(adapter, ctx, r, nativeTarget)).not.toBeInstanceOf(ChatToResponsesStream);
  });

  it('the same adapter on a deployment without it (vLLM, a compatible server) translates to chat, refusing what chat cannot carry', () => {
    const { adapter, calls } = withNative();
    const plain = op.parse({ model: 'alias', input: 'Hi' }, {});
    expect(op.upstreamCall(adapter, plain, chatTarget).path).toBe('/v1/chat/completions');
    expect(op.streamTranslator(adapter, ctx, plain, chatTarget)).toBeInstanceOf(ChatToResponsesStream);
    const completion = { id: 'c', object: 'chat.completion', created: 1, model: 'gpt-x', choices: [{ index: 0, message: { role: 'assistant', content: 'Yo' }, finish_reason: 'stop', logprobs: null }], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } };
    expect(op.decode(adapter, plain, completion, ctx, chatTarget).value).toMatchObject({ object: 'response', output: [{ type: 'message', content: [{ text: 'Yo' }] }] });
    const err = refusal(() => op.upstreamCall(adapter, op.parse({ model: 'alias', input: 'Hi', tools: [{ type: 'web_search' }] }, {}), chatTarget));
    expect([err.code, err.param]).toEqual(['unsupported_parameter', 'tools[0]']);
    expect(calls).toHaveLength(0);
  });

  it("a provider's refusal of a chat parameter names the Responses parameter the client wrote", () => {
    const r = op.parse({ model: 'alias', input: 'Hi', reasoning: { effort: 'high' } }, {});
    const err = refusal(() => op.upstreamCall(anthropicAdapter, r, { ...chatTarget, defaultMaxTokens: 100 }));
    expect(err.code).toBe('unsupported_parameter');
    expect(err.param).toBe('reasoning.effort');
    expect(err.message).toContain("'reasoning.effort'");
  });

  it('without a response store previous_response_id is refused; with one (prior items) it is accepted', () => {
    expect(refusal(() => op.parse({ model: 'alias', input: 'Hi', previous_response_id: 'resp_1' }, {})).param).toBe('previous_response_id');
    const stored = responsesOperation([{ type: 'message', id: 'msg_a', role: 'user', content: [{ type: 'input_text', text: 'before' }] }]);
    const r = stored.parse({ model: 'alias', input: 'Hi', previous_response_id: 'resp_1' }, {});
    expect(r.chat.messages).toEqual([{ role: 'user', content: 'before' }, { role: 'user', content: 'Hi' }]);
  });

  it('reserves the prompt and the output cap', () => {
    const r = op.parse({ model: 'alias', input: 'x'.repeat(4_000), max_output_tokens: 77 }, {});
    expect(op.promptTokens(r)).toBeGreaterThanOrEqual(900);
    expect(op.outputReserve(r, { defaultOutputReserve: 5 } as never)).toBe(77);
    expect(op.outputReserve(op.parse({ model: 'alias', input: 'x' }, {}), { defaultOutputReserve: 5 } as never)).toBe(5);
  });
});
