/**
 * Recorded real OpenAI streams replayed through the gateway (E-4 stream integrity): a fake
 * upstream plays each recording's bytes verbatim, as one write and in small pieces, and the
 * client must see exactly what the provider sent: text, refusals, tool calls, finish reasons
 * and usage, chunk for chunk. Splitting at every byte offset is covered at the decoder level
 * (src/upstream/sse-decoder.test.ts); this is the whole path over real sockets.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chat, chatBody, deploymentFor, KEY, startHarness, type Harness } from './helpers/harness.js';
import { specErrors } from './helpers/openai-spec.js';
import { chunksTxtAsSse, openAiStreamBytes, openAiStreamNames, sseJsonChunks, summarise } from './helpers/recorded.js';

const names = openAiStreamNames();
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    config: ([fake]) => ({
      deployments: { oa: deploymentFor(fake!), az: { provider: 'azure', baseUrl: `${fake!.baseUrl.replace(/\/v1$/, '')}/openai`, apiVersion: '2024-10-21' } },
      models: { chat: { targets: [{ deployment: 'oa', model: 'gpt-4o-2024-08-06' }] }, 'chat-azure': { targets: [{ deployment: 'az', model: 'gpt-4o' }] } },
    }),
  });
});
afterAll(() => h.close());

/** Each upstream chunk as the client must see it: our alias in `model`, usage details always present. */
function expectedClientChunks(recorded: Array<Record<string, any>>, model: string, includeUsage: boolean): Array<Record<string, any>> {
  return recorded
    .filter((c) => includeUsage || !(c.choices.length === 0 && c.usage))
    .map((c) => {
      const out: Record<string, any> = { ...c, model };
      if (!includeUsage) delete out.usage;
      else if (c.usage) {
        out.usage = {
          ...c.usage,
          prompt_tokens_details: { cached_tokens: 0, ...c.usage.prompt_tokens_details },
          completion_tokens_details: { reasoning_tokens: 0, ...c.usage.completion_tokens_details },
        };
      }
      return out;
    });
}

async function replay(bytes: Buffer | string, options: { model: string; pieceBytes?: number; includeUsage: boolean }) {
  h.fakes[0]!.enqueue({ kind: 'replay', body: typeof bytes === 'string' ? Buffer.from(bytes) : bytes, contentType: 'text/event-stream', ...(options.pieceBytes ? { pieceBytes: options.pieceBytes } : {}) });
  const res = await chat(h.url, chatBody(options.model, { stream: true, ...(options.includeUsage ? { stream_options: { include_usage: true } } : {}) }));
  expect(res.status).toBe(200);
  expect(res.events().at(-1)).toBe('[DONE]');
  return sseJsonChunks(res.text);
}

describe.each(names)('recorded stream %s', (name) => {
  const bytes = openAiStreamBytes(name);
  const recorded = sseJsonChunks(bytes.toString('utf8'));
  const truth = summarise(recorded);

  it.each([
    { how: 'one write', pieceBytes: undefined },
    { how: '7-byte pieces', pieceBytes: 7 },
  ])('E-4: through an openai deployment ($how), the client gets every chunk, in order', async ({ pieceBytes }) => {
    const chunks = await replay(bytes, { model: 'chat', includeUsage: true, ...(pieceBytes ? { pieceBytes } : {}) });
    expect(chunks).toEqual(expectedClientChunks(recorded, 'chat', true));
    const seen = summarise(chunks);
    expect(seen.choices).toEqual(truth.choices);
    expect(seen.usage).toMatchObject(truth.usage!);
    for (const chunk of chunks) expect(specErrors('CreateChatCompletionStreamResponse', chunk)).toEqual([]);
  });

  it('E-4: through an azure deployment, without include_usage: same content, no usage chunk', async () => {
    const chunks = await replay(bytes, { model: 'chat-azure', includeUsage: false });
    expect(chunks).toEqual(expectedClientChunks(recorded, 'chat-azure', false));
    expect(summarise(chunks).choices).toEqual(truth.choices);
    expect(h.fakes[0]!.received.at(-1)?.path).toBe('/openai/deployments/gpt-4o/chat/completions');
  });

  it('openai SDK stream(): the assembled completion equals the recording', async () => {
    h.fakes[0]!.enqueue({ kind: 'replay', body: bytes, contentType: 'text/event-stream' });
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const final = await client.chat.completions.stream({ model: 'chat', messages: [{ role: 'user', content: 'replay' }], stream_options: { include_usage: true } }).finalChatCompletion();
    expect(final.usage).toMatchObject(truth.usage!);
    for (const [index, choice] of Object.entries(truth.choices)) {
      const got = final.choices.find((c) => c.index === Number(index));
      expect(got?.finish_reason).toBe(choice.finishReason);
      expect(got?.message.content ?? '').toBe(choice.content);
      expect(got?.message.refusal ?? '').toBe(choice.refusal);
      expect((got?.message.tool_calls ?? []).map((t) => (t.type === 'function' ? { id: t.id, name: t.function.name, arguments: t.function.arguments } : t))).toEqual(choice.toolCalls);
    }
  });
});

describe('Vercel AI recording of an OpenAI stream with obfuscation padding', () => {
  const sse = chunksTxtAsSse('openai-text.chunks.txt');
  const recorded = sseJsonChunks(sse);

  it.each([undefined, 11])('E-4: passes through unchanged but for model (pieceBytes %s)', async (pieceBytes) => {
    const chunks = await replay(sse, { model: 'chat', includeUsage: true, ...(pieceBytes ? { pieceBytes } : {}) });
    expect(chunks).toEqual(expectedClientChunks(recorded, 'chat', true));
    expect(summarise(chunks)).toEqual({ ...summarise(expectedClientChunks(recorded, 'chat', true)) });
    expect(summarise(chunks).choices[0]?.content.length).toBeGreaterThan(1000);
  });
});

describe('Vercel AI recording of a legacy completions stream', () => {
  it('E-4: every text fragment and the finish reason reach the client', async () => {
    const sse = chunksTxtAsSse('openai-completion-text.chunks.txt');
    const recorded = sseJsonChunks(sse);
    h.fakes[0]!.enqueue({ kind: 'replay', body: Buffer.from(sse), contentType: 'text/event-stream', pieceBytes: 5 });
    const res = await chat(h.url, { model: 'chat', prompt: 'Invent a new holiday', stream: true, stream_options: { include_usage: true } }, { path: '/v1/completions' });
    expect(res.status).toBe(200);
    const chunks = sseJsonChunks(res.text);
    const text = (cs: Array<Record<string, any>>) => cs.flatMap((c) => c.choices.map((x: any) => x.text)).join('');
    expect(text(chunks)).toBe(text(recorded));
    expect(text(chunks).length).toBeGreaterThan(20);
    expect(chunks.flatMap((c) => c.choices.map((x: any) => x.finish_reason)).filter(Boolean)).toEqual(recorded.flatMap((c) => c.choices.map((x: any) => x.finish_reason)).filter(Boolean));
    for (const chunk of chunks) expect(chunk.model).toBe('chat');
  });
});

/**
 * Azure OpenAI's stream shape (protocols.md §5.4): a first chunk with `choices: []` and only
 * `prompt_filter_results` (empty id, object and model), and content-filter results on each choice.
 * Written from Azure's documented format, not a recording.
 */
describe('Azure stream with prompt_filter_results first', () => {
  const safe = { hate: { filtered: false, severity: 'safe' }, self_harm: { filtered: false, severity: 'safe' }, sexual: { filtered: false, severity: 'safe' }, violence: { filtered: false, severity: 'safe' } };
  const base = { id: 'chatcmpl-az1', object: 'chat.completion.chunk', created: 1_727_000_000, model: 'gpt-4o-2024-08-06', system_fingerprint: 'fp_az' };
  const frames = [
    { choices: [], created: 0, id: '', model: '', object: '', prompt_filter_results: [{ prompt_index: 0, content_filter_results: safe }] },
    { ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, content_filter_results: {}, finish_reason: null, logprobs: null }], usage: null },
    { ...base, choices: [{ index: 0, delta: { content: 'Hello' }, content_filter_results: safe, finish_reason: null, logprobs: null }], usage: null },
    { ...base, choices: [{ index: 0, delta: { content: ' from Azure.' }, content_filter_results: safe, finish_reason: null, logprobs: null }], usage: null },
    { ...base, choices: [{ index: 0, delta: {}, content_filter_results: {}, finish_reason: 'stop', logprobs: null }], usage: null },
    { ...base, choices: [], usage: { prompt_tokens: 9, completion_tokens: 4, total_tokens: 13 } },
  ];
  const sse = `${frames.map((f) => `data: ${JSON.stringify(f)}\n\n`).join('')}data: [DONE]\n\n`;

  it("the openai SDK assembles the text and usage; Azure's prompt-filter chunk is dropped, so every chunk is spec-valid", async () => {
    h.fakes[0]!.enqueue({ kind: 'replay', body: Buffer.from(sse), contentType: 'text/event-stream', pieceBytes: 13 });
    const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const final = await client.chat.completions.stream({ model: 'chat-azure', messages: [{ role: 'user', content: 'hi' }], stream_options: { include_usage: true } }).finalChatCompletion();
    expect(final.choices[0]?.message.content).toBe('Hello from Azure.');
    expect(final.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 4, prompt_tokens_details: { cached_tokens: 0 } });

    const chunks = await replay(sse, { model: 'chat-azure', includeUsage: true });
    expect(chunks).toHaveLength(frames.length - 1);
    expect(chunks.some((c) => 'prompt_filter_results' in c)).toBe(false);
    for (const chunk of chunks) expect(specErrors('CreateChatCompletionStreamResponse', chunk)).toEqual([]);
    expect(summarise(chunks).choices[0]?.content).toBe('Hello from Azure.');
  });
});
