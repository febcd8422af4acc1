/**
 * What the gateway sends to OpenAI-protocol upstreams and what it answers its clients, checked
 * against the official OpenAI OpenAPI schemas (test/fixtures/openai-openapi/): requests for chat
 * (plain and streamed, with the stream_options we add), embeddings and legacy completions, and
 * our responses, stream chunks, errors and model lists, whichever provider served them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, get, type Harness } from './helpers/harness.js';
import { specErrors, type SpecSchema } from './helpers/openai-spec.js';
import { OPENAI_PROTOCOL, PROVIDERS, providerHarness, type Provider } from './helpers/providers.js';
import { sseJsonChunks, vercelJson } from './helpers/recorded.js';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function start(provider: Provider): Promise<Harness> {
  const h = await providerHarness(provider, { reply: 'Spec-shaped reply text.' });
  open.push(h);
  return h;
}

function valid(schema: SpecSchema, value: unknown): void {
  expect(specErrors(schema, value), `${schema}: ${JSON.stringify(value).slice(0, 300)}`).toEqual([]);
}

describe('the validator itself', () => {
  it('rejects what the spec rejects (so the checks below can fail)', () => {
    expect(specErrors('CreateChatCompletionRequest', { model: 'm' })).not.toEqual([]);
    expect(specErrors('CreateChatCompletionRequest', { model: 'm', messages: [{ role: 'user', content: 'x' }], n: 'two' })).not.toEqual([]);
    expect(specErrors('CreateChatCompletionStreamResponse', { id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [] })).not.toEqual([]);
    expect(specErrors('ErrorResponse', { error: { message: 'x' } })).not.toEqual([]);
  });

  it('accepts real recorded OpenAI bodies', () => {
    valid('CreateChatCompletionResponse', vercelJson('openai-text.json'));
    valid('CreateCompletionResponse', vercelJson('openai-completion-text.json'));
    valid('CreateEmbeddingResponse', vercelJson('openai-embedding.json'));
    valid('ErrorResponse', vercelJson('reasoning-model-legacy-parameter-error.json'));
  });
});

describe.each(OPENAI_PROTOCOL)('requests the gateway sends to a %s upstream', (provider) => {
  it('chat, plain and streamed (stream_options added by the gateway), is a valid CreateChatCompletionRequest', async () => {
    const h = await start(provider);
    const messages = [
      { role: 'developer', content: 'Be brief.' },
      { role: 'user', content: 'Hi', name: 'alice' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{}' } }] },
      { role: 'tool', tool_call_id: 'call_1', content: '{"ok":true}' },
    ];
    for (const extra of [{}, { stream: true }, { stream: true, stream_options: { include_usage: false } }]) {
      expect((await chat(h.url, chatBody('chat', { messages, max_completion_tokens: 20, user: 'u-1', ...extra }))).status).toBe(200);
      valid('CreateChatCompletionRequest', h.fakes[0]!.received.at(-1)!.body);
    }
  });

  it('embeddings (float and base64) is a valid CreateEmbeddingRequest', async () => {
    const h = await start(provider);
    for (const extra of [{}, { encoding_format: 'float' }, { encoding_format: 'base64', dimensions: 8 }]) {
      expect((await chat(h.url, { model: 'chat', input: ['a', 'b'], ...extra }, { path: '/v1/embeddings' })).status).toBe(200);
      valid('CreateEmbeddingRequest', h.fakes[0]!.received.at(-1)!.body);
    }
  });

  it('legacy completions, plain and streamed, is a valid CreateCompletionRequest', async () => {
    const h = await start(provider);
    for (const extra of [{}, { stream: true }, { stream: true, stream_options: { include_usage: true } }]) {
      expect((await chat(h.url, { model: 'chat', prompt: 'Say this is a test', max_tokens: 7, ...extra }, { path: '/v1/completions' })).status).toBe(200);
      valid('CreateCompletionRequest', h.fakes[0]!.received.at(-1)!.body);
    }
  });
});

describe.each(PROVIDERS)('responses to clients when a %s deployment serves', (provider) => {
  it('chat: CreateChatCompletionResponse; stream chunks: CreateChatCompletionStreamResponse', async () => {
    const h = await start(provider);
    const plain = await chat(h.url, chatBody('chat'));
    valid('CreateChatCompletionResponse', plain.json());
    for (const streamOptions of [{}, { stream_options: { include_usage: true } }]) {
      const streamed = await chat(h.url, chatBody('chat', { stream: true, ...streamOptions }));
      const chunks = sseJsonChunks(streamed.text);
      expect(chunks.length).toBeGreaterThan(2);
      for (const chunk of chunks) valid('CreateChatCompletionStreamResponse', chunk);
    }
  });

  it('embeddings and legacy completions: valid responses, or a valid ErrorResponse where the provider cannot', async () => {
    const h = await start(provider);
    const embeddings = await chat(h.url, { model: 'chat', input: 'x', encoding_format: 'float' }, { path: '/v1/embeddings' });
    const completion = await chat(h.url, { model: 'chat', prompt: 'Say this is a test' }, { path: '/v1/completions' });
    if (provider === 'triton') {
      expect([embeddings.status, completion.status]).toEqual([400, 400]);
      valid('ErrorResponse', embeddings.json());
      valid('ErrorResponse', completion.json());
      return;
    }
    valid('CreateEmbeddingResponse', embeddings.json());
    valid('CreateCompletionResponse', completion.json());
  });

  it('errors are a valid ErrorResponse; /v1/models a valid ListModelsResponse and Model', async () => {
    const h = await start(provider);
    h.fakes[0]!.enqueue({ kind: 'status', status: 400 }, ...Array.from({ length: 3 }, () => ({ kind: 'status' as const, status: 503 })));
    for (const res of [await chat(h.url, chatBody('chat')), await chat(h.url, chatBody('chat')), await chat(h.url, chatBody('nope')), await chat(h.url, { model: 'chat' })]) {
      expect(res.status).toBeGreaterThanOrEqual(400);
      valid('ErrorResponse', res.json());
    }
    valid('ListModelsResponse', (await get(h.url, '/v1/models')).json());
    valid('Model', (await get(h.url, '/v1/models/chat')).json());
  });
});
