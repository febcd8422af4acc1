import { describe, expect, it } from 'vitest';
import { fixtureBytes, fixtureCases, fixtureJson, replay, splits } from '../../../test/helpers/golden.js';
import { parseChatRequest } from '../../api/parse-chat.js';
import { parseEmbeddingsRequest } from '../../api/parse-embeddings.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { base64ToFloats } from '../embeddings-encoding.js';
import { UpstreamProtocolError, type ResponseContext, type TargetInfo } from '../types.js';
import { ollamaAdapter } from './adapter.js';
import { chatUpstreamCall } from '../parameter-policy.js';

const ctx = (includeUsage = true): ResponseContext => ({ id: 'chatcmpl-golden0001', created: 1_700_000_000, model: 'alias', includeUsage, promptTokensEstimate: 11 });
const target: TargetInfo = { upstreamModel: 'llama3.2-vision:11b', basePath: '' };
const hi = [{ role: 'user', content: 'Hi' }];

function refusal(body: Record<string, unknown>): GatewayError {
  try {
    chatUpstreamCall(ollamaAdapter, parseChatRequest({ model: 'alias', messages: hi, ...body }), target);
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

describe('Ollama request translation (golden files)', () => {
  it.each(fixtureCases('ollama', 'request', '.openai.json'))('%s', (name) => {
    const expected = fixtureJson('ollama', `request-${name}.ollama.json`);
    const call = ollamaAdapter.chatRequest(parseChatRequest(fixtureJson('ollama', `request-${name}.openai.json`)), target);
    expect([call.method, call.path]).toEqual(['POST', expected.path]);
    expect(JSON.parse(call.body)).toEqual(expected.body);
  });

  it('always says stream:false for JSON (Ollama streams by default), and a base path prefixes the route', () => {
    const call = ollamaAdapter.chatRequest(parseChatRequest({ model: 'alias', messages: hi }), { upstreamModel: 'm', basePath: '/ollama' });
    expect(call.path).toBe('/ollama/api/chat');
    expect(JSON.parse(call.body)).toEqual({ model: 'm', messages: [{ role: 'user', content: 'Hi' }], stream: false });
  });

  it("tool_choice 'none' is expressed by not offering the tools", () => {
    const tools = [{ type: 'function', function: { name: 'f' } }];
    const body = JSON.parse(ollamaAdapter.chatRequest(parseChatRequest({ model: 'alias', messages: hi, tools, tool_choice: 'none' }), target).body);
    expect(body.tools).toBeUndefined();
  });

  it('parameters Ollama cannot carry are refused with a 400 naming them', () => {
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ n: 2 }, 'n'],
      [{ logprobs: true }, 'logprobs'],
      [{ logit_bias: { '1': 5 } }, 'logit_bias'],
      [{ tool_choice: 'required', tools: [{ type: 'function', function: { name: 'f' } }] }, 'tool_choice'],
      [{ tool_choice: { type: 'function', function: { name: 'f' } }, tools: [{ type: 'function', function: { name: 'f' } }] }, 'tool_choice'],
      [{ parallel_tool_calls: false }, 'parallel_tool_calls'],
      [{ reasoning_effort: 'high' }, 'reasoning_effort'],
      [{ messages: [{ role: 'user', content: [{ type: 'image_url', image_url: { url: 'https://x.test/a.png' } }] }] }, 'messages[0].content[0].image_url.url'],
      [{ messages: [{ role: 'user', content: [{ type: 'input_audio', input_audio: { data: 'AA==', format: 'wav' } }] }] }, 'messages[0].content[0].type'],
      [{ messages: [{ role: 'tool', tool_call_id: 'nope', content: 'x' }] }, 'messages[0].tool_call_id'],
      [{ messages: [{ role: 'assistant', tool_calls: [{ id: 'a', type: 'function', function: { name: 'f', arguments: '[1]' } }] }] }, 'messages[0].tool_calls[0].function.arguments'],
      [{ response_format: { type: 'xml' } }, 'response_format.type'],
    ];
    for (const [body, param] of cases) {
      const err = refusal(body);
      expect([err.status, err.param]).toEqual([400, param]);
    }
    expect(refusal({ n: 3 }).message).toContain('Ollama');
  });
});

describe('Ollama response translation (golden files)', () => {
  it.each(fixtureCases('ollama', 'response', '.ollama.json'))('%s', (name) => {
    expect(ollamaAdapter.chatResponse(fixtureJson('ollama', `response-${name}.ollama.json`), ctx())).toEqual(fixtureJson('ollama', `response-${name}.openai.json`));
  });

  it('malformed bodies are protocol errors', () => {
    for (const body of [null, 'x', {}, { done: false, message: { content: 'partial' } }, { done: true, message: 'x' }, { done: true, message: { tool_calls: [{ function: {} }] } }]) {
      expect(() => ollamaAdapter.chatResponse(body, ctx())).toThrow(UpstreamProtocolError);
    }
  });
});

describe('Ollama stream translation (golden files, every byte split)', () => {
  it.each(fixtureCases('ollama', 'stream', '.openai.json'))('%s', async (name) => {
    const bytes = fixtureBytes('ollama', `stream-${name}.ollama.ndjson`);
    const expected = fixtureJson('ollama', `stream-${name}.openai.json`);
    for (const parts of splits(bytes)) {
      const translator = ollamaAdapter.chatStream(ctx());
      const got = await replay(parts, translator, 'ndjson');
      expect(got.thrown).toBeUndefined();
      expect(got.chunks).toEqual(expected.chunks);
      expect(translator.usage()).toEqual(expected.usage);
    }
    const plain = await replay([bytes], ollamaAdapter.chatStream(ctx(false)), 'ndjson');
    expect(plain.chunks).toEqual(expected.chunks.filter((c: { choices: unknown[] }) => c.choices.length > 0));
  });

  it('an error line after the 200: the chunks before it, then the error', async () => {
    for (const parts of splits(fixtureBytes('ollama', 'stream-error.ollama.ndjson'))) {
      const got = await replay(parts, ollamaAdapter.chatStream(ctx()), 'ndjson');
      expect(got.thrown).toBeUndefined();
      expect(got.chunks.map((c) => c.choices[0]?.delta)).toEqual([{ role: 'assistant', content: 'Once' }]);
      expect(got.error).toEqual({ message: 'an error was encountered while running the model: unexpected EOF', type: 'server_error', code: null, param: null });
    }
  });

  it('a body that ends before done:true is a truncation, even when its last line has no newline', async () => {
    const bytes = fixtureBytes('ollama', 'stream-text.ollama.ndjson');
    const lines = bytes.toString('utf8').split('\n');
    for (const cut of [lines.slice(0, 2).join('\n') + '\n', lines.slice(0, 2).join('\n')]) {
      const got = await replay([Buffer.from(cut)], ollamaAdapter.chatStream(ctx()), 'ndjson');
      expect(got.thrown).toBeInstanceOf(UpstreamProtocolError);
      expect(got.chunks).toHaveLength(2);
    }
    // The done line without its trailing newline still ends the stream cleanly.
    const noNewline = await replay([bytes.subarray(0, bytes.length - 1)], ollamaAdapter.chatStream(ctx()), 'ndjson');
    expect(noNewline.thrown).toBeUndefined();
  });
});

describe('Ollama errors and embeddings', () => {
  it('{"error": "..."} with its status', () => {
    expect(ollamaAdapter.errorInfo(404, { error: 'model "llama9" not found, try pulling it first' })).toEqual({
      message: 'model "llama9" not found, try pulling it first',
      type: 'not_found_error',
      code: null,
      param: null,
    });
    expect(ollamaAdapter.errorInfo(502, '')).toMatchObject({ type: 'server_error', message: 'upstream answered 502' });
  });

  it('/api/embed request; floats or base64 out; prompt_eval_count as usage', () => {
    const call = ollamaAdapter.embeddingsRequest!(parseEmbeddingsRequest({ model: 'alias', input: 'why is the sky blue?', dimensions: 4 }), { upstreamModel: 'all-minilm', basePath: '' });
    expect([call.path, JSON.parse(call.body)]).toEqual(['/api/embed', { model: 'all-minilm', input: ['why is the sky blue?'], dimensions: 4 }]);
    const upstream = { model: 'all-minilm', embeddings: [[0.010071029, -0.0017594862, 0.05007221, 0.04692972]], total_duration: 14143917, load_duration: 1019500, prompt_eval_count: 8 };
    const floats = ollamaAdapter.embeddingsResponse!(upstream, { model: 'alias', encodingFormat: 'float', promptTokensEstimate: 5 });
    expect(floats.response).toEqual({ object: 'list', data: [{ object: 'embedding', index: 0, embedding: upstream.embeddings[0] }], model: 'alias', usage: { prompt_tokens: 8, total_tokens: 8 } });
    expect(floats.usage.estimated).toBe(false);
    const b64 = ollamaAdapter.embeddingsResponse!(upstream, { model: 'alias', encodingFormat: 'base64', promptTokensEstimate: 5 });
    expect(base64ToFloats(b64.response.data[0]!.embedding as string)).toEqual(upstream.embeddings[0]!.map((v) => Math.fround(v)));
    expect(() => ollamaAdapter.embeddingsResponse!({ embeddings: [['x']] }, { model: 'alias', encodingFormat: 'float', promptTokensEstimate: 5 })).toThrow(UpstreamProtocolError);
  });
});

describe('Ollama usage when the provider reports none', () => {
  it('a done line without counts: usage estimated from the streamed text and marked estimated', async () => {
    const lines = [
      { model: 'm', created_at: '2026-11-25T10:00:00.000000001Z', message: { role: 'assistant', content: 'twelve chars' }, done: false },
      { model: 'm', created_at: '2026-11-25T10:00:00.000000002Z', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop' },
    ];
    const translator = ollamaAdapter.chatStream(ctx());
    await replay([Buffer.from(lines.map((l) => `${JSON.stringify(l)}\n`).join(''))], translator, 'ndjson');
    expect(translator.usage()).toEqual({ promptTokens: 11, completionTokens: 3, cachedTokens: 0, reasoningTokens: 0, estimated: true });
  });
});
