import { createHash, randomBytes, randomUUID } from 'node:crypto';
import OpenAI, { APIError, BadRequestError, RateLimitError } from 'openai';
import { zodResponseFormat } from 'openai/helpers/zod';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FAKE_AWS_ACCESS_KEY_ID } from '../src/testing/fake-upstream/bedrock-dialect.js';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, get, KEY, scrapeMetrics, startHarness, type Harness, type HttpResult } from './helpers/harness.js';

/**
 * The gateway in front of the fake Bedrock runtime (Converse / ConverseStream, SigV4 verified
 * with the configured secret, binary event streams with usage after messageStop), driven by the
 * official openai client.
 */

const SECRET = 'bedrock-test-secret-0123456789abcdef';
const REPLY = 'one two three four five six seven';
const MODEL = 'us.anthropic.claude-3-5-haiku-20241022-v1:0';
const messages = [{ role: 'user' as const, content: 'Count to seven.' }];
const PNG = 'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

function bedrockDeployment(fake: FakeUpstream): Record<string, unknown> {
  return { provider: 'bedrock', baseUrl: fake.baseUrl, aws: { region: 'us-east-1', accessKeyId: '${env:AWS_ACCESS_KEY_ID}', secretAccessKey: '${env:AWS_SECRET_ACCESS_KEY}' } };
}

async function setup(options: { reply?: string; fakes?: number; secret?: string; logger?: pino.Logger; retry?: Record<string, unknown> } = {}) {
  const secret = options.secret ?? SECRET;
  const h = await startHarness({
    fakes: Array.from({ length: options.fakes ?? 1 }, () => ({ dialect: 'bedrock' as const, apiKey: secret, behaviour: { reply: options.reply ?? REPLY, chunks: 4 } })),
    env: { AWS_ACCESS_KEY_ID: FAKE_AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: secret },
    ...(options.logger ? { logger: options.logger } : {}),
    config: (fakes) => ({
      ...(options.retry ? { retry: options.retry } : {}),
      deployments: Object.fromEntries(fakes.map((f, i) => [`br${i}`, bedrockDeployment(f)])),
      // Priority: the first deployment is always tried first, so fault scripts are deterministic.
      models: { claude: { strategy: 'priority', targets: fakes.map((_, i) => ({ deployment: `br${i}`, model: MODEL, priority: i })) } },
    }),
  });
  open.push(h);
  const client = new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 10_000 });
  return { h, fake: h.fakes[0] as FakeUpstream, client };
}

describe('official openai client against a Bedrock deployment', () => {
  it('plain completion: text, finish_reason, usage from Converse, signed request to the encoded model path', async () => {
    const { h, fake, client } = await setup();
    const { data, response } = await client.chat.completions.create({ model: 'claude', messages, max_tokens: 50, temperature: 0.5 }).withResponse();
    expect(data.choices[0]?.message.content).toBe(REPLY);
    expect(data.choices[0]?.finish_reason).toBe('stop');
    // The fake counts words: prompt "Count to seven." is 3 + 3 framing, the reply 7.
    expect(data.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 7, total_tokens: 13 });
    expect(response.headers.get('x-gateway-provider')).toBe('br0');
    const sent = fake.received[0];
    expect(sent?.path).toBe(`/model/${encodeURIComponent(MODEL)}/converse`);
    expect(sent?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDFAKEBEDROCK00001\/\d{8}\/us-east-1\/bedrock\/aws4_request, SignedHeaders=[a-z0-9;-]*host[a-z0-9;-]*, Signature=[0-9a-f]{64}$/);
    expect(sent?.headers['x-amz-date']).toMatch(/^\d{8}T\d{6}Z$/);
    expect(sent?.body).toEqual({ messages: [{ role: 'user', content: [{ text: 'Count to seven.' }] }], inferenceConfig: { maxTokens: 50, temperature: 0.5 } });
    expect(h.fakes[0]?.stats.requests).toBe(1);
  });

  it('streamed completion: deltas concatenate to the reply; the usage that arrives after messageStop is the last chunk', async () => {
    const { client } = await setup();
    const stream = await client.chat.completions.create({ model: 'claude', messages, stream: true, stream_options: { include_usage: true } });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toBe(REPLY);
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    const finishAt = chunks.findIndex((c) => c.choices[0]?.finish_reason === 'stop');
    expect(finishAt).toBe(chunks.length - 2);
    const last = chunks.at(-1);
    expect(last?.choices).toEqual([]);
    // Reported (not estimated) numbers: they come from the metadata event after messageStop.
    expect(last?.usage).toMatchObject({ prompt_tokens: 6, completion_tokens: 7, total_tokens: 13 });
    expect(new Set(chunks.map((c) => c.id)).size).toBe(1);
  });

  it('tool calls, plain and streamed, then the tool result round trip', async () => {
    const { fake, client } = await setup({ reply: '{"city":"Paris"}' });
    const tools = [{ type: 'function' as const, function: { name: 'get_weather', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] } } }];
    const plain = await client.chat.completions.create({ model: 'claude', messages, tools, tool_choice: 'required' });
    expect(plain.choices[0]?.finish_reason).toBe('tool_calls');
    const call = plain.choices[0]?.message.tool_calls?.[0];
    expect(call).toMatchObject({ id: 'tooluse_fake1', type: 'function', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });
    expect(fake.received[0]?.body).toMatchObject({ toolConfig: { toolChoice: { any: {} }, tools: [{ toolSpec: { name: 'get_weather' } }] } });

    const runner = client.chat.completions.stream({ model: 'claude', messages, tools, tool_choice: { type: 'function', function: { name: 'get_weather' } } });
    const streamed = await runner.finalChatCompletion();
    expect(streamed.choices[0]?.finish_reason).toBe('tool_calls');
    expect(streamed.choices[0]?.message.tool_calls?.[0]).toMatchObject({ id: 'tooluse_fake2', function: { name: 'get_weather', arguments: '{"city":"Paris"}' } });

    const followUp = await client.chat.completions.create({
      model: 'claude',
      tools,
      messages: [...messages, { role: 'assistant', content: null, tool_calls: [call!] }, { role: 'tool', tool_call_id: call!.id, content: 'sunny, 21 C' }],
    });
    expect(followUp.choices[0]?.finish_reason).toBe('stop');
    expect(fake.received[2]?.body).toMatchObject({
      messages: [
        { role: 'user' },
        { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_fake1', name: 'get_weather', input: { city: 'Paris' } } }] },
        { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_fake1', content: [{ text: 'sunny, 21 C' }] } }] },
      ],
    });
  });

  it('structured output with parse() and a zod schema goes out as outputConfig.textFormat', async () => {
    const { fake, client } = await setup({ reply: '{"answer":"seven","confidence":0.9}' });
    const Answer = z.object({ answer: z.string(), confidence: z.number() });
    const parsed = await client.chat.completions.parse({ model: 'claude', messages, response_format: zodResponseFormat(Answer, 'answer') });
    expect(parsed.choices[0]?.message.parsed).toEqual({ answer: 'seven', confidence: 0.9 });
    const outputConfig = (fake.received[0]?.body as Record<string, any>).outputConfig;
    expect(outputConfig.textFormat.type).toBe('json_schema');
    expect(JSON.parse(outputConfig.textFormat.structure.jsonSchema.schema)).toMatchObject({ type: 'object', properties: { answer: { type: 'string' } } });
  });

  it('an image as a data: URL reaches Bedrock as image bytes', async () => {
    const { fake, client } = await setup();
    const res = await client.chat.completions.create({
      model: 'claude',
      messages: [{ role: 'user', content: [{ type: 'text', text: 'What is this?' }, { type: 'image_url', image_url: { url: `data:image/png;base64,${PNG}` } }] }],
    });
    expect(res.choices[0]?.message.content).toBe(REPLY);
    expect(fake.received[0]?.body).toMatchObject({ messages: [{ content: [{ text: 'What is this?' }, { image: { format: 'png', source: { bytes: PNG } } }] }] });
  });

  it('a parameter Bedrock cannot carry is a 400 naming it, and nothing is sent upstream', async () => {
    const { fake, client } = await setup();
    const err = await client.chat.completions.create({ model: 'claude', messages, logprobs: true }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(BadRequestError);
    expect((err as BadRequestError).param).toBe('logprobs');
    expect((err as BadRequestError).message).toMatch(/Bedrock/);
    expect(fake.stats.requests).toBe(0);
  });

  it('embeddings and legacy completions are not offered by Bedrock deployments: 400 naming the model', async () => {
    const { fake, client } = await setup();
    const emb = await client.embeddings.create({ model: 'claude', input: 'hello' }).catch((e: unknown) => e);
    expect(emb).toBeInstanceOf(BadRequestError);
    expect([(emb as BadRequestError).param, (emb as BadRequestError).code]).toEqual(['model', 'unsupported_parameter']);
    expect((emb as BadRequestError).message).toMatch(/bedrock/);
    const legacy = await client.completions.create({ model: 'claude', prompt: 'hello' }).catch((e: unknown) => e);
    expect(legacy).toBeInstanceOf(BadRequestError);
    expect(fake.stats.requests).toBe(0);
  });
});

describe('Bedrock faults', () => {
  it('F-03: a ThrottlingException 429 on one deployment fails over to the other at once → 200', async () => {
    const { h, client } = await setup({ fakes: 2 });
    const [a, b] = h.fakes as [FakeUpstream, FakeUpstream];
    a.enqueue({ kind: 'status', status: 429 });
    const res = await client.chat.completions.create({ model: 'claude', messages }).withResponse();
    expect(res.data.choices[0]?.message.content).toBe(REPLY);
    expect(res.response.headers.get('x-gateway-attempts')).toBe('2');
    expect(res.response.headers.get('x-gateway-provider')).toBe('br1');
    expect([a.stats.requests, b.stats.requests]).toEqual([1, 1]);
  });

  it('F-03: on a single deployment, a ThrottlingException (no Retry-After, as Bedrock sends it) is retried after the cooldown → 200', async () => {
    const { fake, client } = await setup({ retry: { defaultCooldownMs: 200 } });
    fake.enqueue({ kind: 'status', status: 429 });
    const res = await client.chat.completions.create({ model: 'claude', messages }).withResponse();
    expect(res.data.choices[0]?.message.content).toBe(REPLY);
    expect(res.response.headers.get('x-gateway-attempts')).toBe('2');
    expect(fake.stats.requests).toBe(2);
  });

  it('F-04: throttled on every attempt → 429 RateLimitError with the provider message and a Retry-After from the cooldown; the SDK is told not to retry', async () => {
    const { fake, client } = await setup({ retry: { maxAttempts: 2, defaultCooldownMs: 200 } });
    fake.enqueue({ kind: 'status', status: 429 }, { kind: 'status', status: 429 });
    const err = await client.chat.completions.create({ model: 'claude', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    const e = err as RateLimitError;
    expect(e.message).toMatch(/Too many requests/);
    expect(e.headers?.get('x-should-retry')).toBe('false');
    // Bedrock sends no Retry-After; ours comes from the deployment's cooldown (200 ms → 1 s floor).
    expect(e.headers?.get('retry-after')).toBe('1');
    expect(e.headers?.get('retry-after-ms')).toBe('1000');
    expect(fake.stats.requests).toBe(2);
  });

  it('F-04: a Retry-After the upstream does send is passed on', async () => {
    const { fake, client } = await setup({ retry: { maxAttempts: 1 } });
    fake.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '120' } });
    const err = await client.chat.completions.create({ model: 'claude', messages }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RateLimitError);
    const retryAfter = Number((err as RateLimitError).headers?.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(100);
    expect(retryAfter).toBeLessThanOrEqual(120);
  });

  it('F-13: a modelStreamErrorException after the first chunks → those chunks, one error event, no [DONE]', async () => {
    const { h, fake } = await setup();
    // Spaced frames, so the first chunk commits the stream before the exception arrives (an
    // exception in the same read as the first chunk is still pre-commit and is retried instead).
    fake.setBehaviour({ chunkIntervalMs: 50 });
    // messageStart, two deltas, then the exception (written right after the second delta).
    fake.enqueue({ kind: 'error-event', afterChunks: 3 });
    const res: HttpResult = await chat(h.url, chatBody('claude', { stream: true }));
    expect(res.status).toBe(200);
    const events = res.events();
    expect(events).not.toContain('[DONE]');
    const parsed = events.map((e) => JSON.parse(e) as Record<string, any>);
    expect(parsed.filter((p) => p.error)).toHaveLength(1);
    expect(parsed.at(-1)?.error).toMatchObject({ type: 'server_error', code: 'upstream_error' });
    expect(parsed.at(-1)?.error.message).toMatch(/mid-stream/);
    expect(parsed.slice(0, -1).every((p) => p.object === 'chat.completion.chunk')).toBe(true);
    expect(parsed.slice(0, -1).map((p) => p.choices[0].delta.content).join('')).not.toBe('');
    expect(fake.stats.requests).toBe(1);
  });

  it('F-13: the openai client raises APIError for the mid-stream exception', async () => {
    const { fake, client } = await setup();
    fake.setBehaviour({ chunkIntervalMs: 50 });
    fake.enqueue({ kind: 'error-event', afterChunks: 3 });
    const stream = await client.chat.completions.create({ model: 'claude', messages, stream: true });
    const err = await (async () => {
      for await (const _ of stream) {
        // drain
      }
    })().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(APIError);
  });

  it('F-14: an exception before any content (right after messageStart) is retried before the commit point → clean stream with [DONE]', async () => {
    const { h, fake } = await setup();
    fake.setBehaviour({ chunkIntervalMs: 30 });
    fake.enqueue({ kind: 'error-event', afterChunks: 1 });
    const res = await chat(h.url, chatBody('claude', { stream: true }));
    expect(res.status).toBe(200);
    expect(res.events().at(-1)).toBe('[DONE]');
    expect(res.headers['x-gateway-attempts']).toBe('2');
    expect(fake.stats.requests).toBe(2);
  });

  it('a 200 whose body is not an event stream is a protocol error before the commit point → retried → 200', async () => {
    const { h, fake } = await setup();
    fake.enqueue({ kind: 'status', status: 200, body: 'not an event stream', headers: { 'content-type': 'application/vnd.amazon.eventstream' } });
    const res = await chat(h.url, chatBody('claude', { stream: true }));
    expect(res.status).toBe(200);
    expect(res.events().at(-1)).toBe('[DONE]');
    expect(fake.stats.requests).toBe(2);
  });
});

describe('S-18: the AWS secret key never leaves the gateway', () => {
  it('not in logs, metrics, error bodies or headers, even when the upstream echoes it', async () => {
    const secretPart = randomBytes(16).toString('hex');
    const canary = `CANARY${secretPart}`;
    const logLines: string[] = [];
    const logger = pino({ level: 'debug' }, { write: (line: string) => void logLines.push(line) });
    const { h, fake, client } = await setup({ secret: canary, logger });
    const responses: HttpResult[] = [];
    const send = async (extra: Record<string, unknown> = {}): Promise<HttpResult> => {
      const res = await chat(h.url, chatBody('claude', { messages: [{ role: 'user', content: `marker ${randomUUID()}` }], ...extra }));
      responses.push(res);
      return res;
    };
    // Success proves the canary was the signing key (the fake verifies every signature with it).
    expect((await send()).status).toBe(200);
    expect((await send({ stream: true, stream_options: { include_usage: true } })).status).toBe(200);
    const sdkErr = await client.chat.completions.create({ model: 'claude', messages, logprobs: true }).catch((e: unknown) => e);
    expect(sdkErr).toBeInstanceOf(BadRequestError);
    const echo = (status: number) => ({ kind: 'status' as const, status, body: { message: `The security token ${canary} is invalid (secret ${canary})` } });
    fake.enqueue(echo(400));
    expect((await send()).status).toBe(400);
    fake.enqueue(echo(403));
    expect((await send()).status).toBe(502);
    fake.enqueue(echo(500), echo(500), echo(500));
    expect((await send({ stream: true })).status).toBe(502);
    responses.push(await get(h.url, '/v1/models'));
    // The scrubbed message still reaches the client, so the check below is live.
    expect(responses[2]!.json().error.message).toContain('The security token');

    const sha = createHash('sha256').update(canary).digest('hex');
    const outputs: Array<[string, string]> = [
      ['logs', logLines.join('')],
      ['metrics', await scrapeMetrics(h.url)],
      ...responses.map((r, i): [string, string] => [`response ${i}`, `${JSON.stringify(r.headers)}\n${r.text}`]),
    ];
    for (const [where, text] of outputs) {
      expect(text.includes(canary), `${where} contains the secret key`).toBe(false);
      expect(text.includes(secretPart.slice(0, 8)), `${where} contains part of the secret key`).toBe(false);
      expect(text.includes(sha), `${where} contains the key's SHA-256`).toBe(false);
    }
    expect(logLines.length).toBeGreaterThan(0);
  });
});
