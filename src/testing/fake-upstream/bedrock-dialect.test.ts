import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { Secret } from '../../config/secret.js';
import { authorize, awsSigV4 } from '../../upstream/credentials.js';
import { AwsEventStreamDecoder } from '../../upstream/framing.js';
import type { SseEvent } from '../../upstream/sse-event.js';
import { FAKE_AWS_ACCESS_KEY_ID } from './bedrock-dialect.js';
import { runFakeUpstreamCli } from './cli.js';
import { FakeUpstream } from './fake-upstream.js';
import type { FakeUpstreamOptions } from './fake-upstream.js';

const SECRET = 'fake-bedrock-secret-for-tests';
const fakes: FakeUpstream[] = [];
afterEach(async () => {
  await Promise.all(fakes.splice(0).map((fake) => fake.close()));
});

async function start(options: Partial<FakeUpstreamOptions> & { unverified?: boolean } = {}): Promise<FakeUpstream> {
  const { unverified, ...rest } = options;
  const fake = await FakeUpstream.start({ dialect: 'bedrock', ...(unverified ? {} : { apiKey: SECRET }), ...rest });
  fakes.push(fake);
  return fake;
}

/** Sends a Converse call signed as the gateway signs it (credentials.ts), with `secret`. */
async function send(fake: FakeUpstream, body: unknown, opts: { stream?: boolean; model?: string; secret?: string; unsigned?: boolean } = {}) {
  const url = new URL(fake.baseUrl);
  const call = {
    method: 'POST' as const,
    path: `/model/${encodeURIComponent(opts.model ?? 'us.anthropic.claude-3-5-haiku-20241022-v1:0')}/${opts.stream ? 'converse-stream' : 'converse'}`,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  };
  const credentials = awsSigV4({ region: 'us-east-1', service: 'bedrock', accessKeyId: new Secret(FAKE_AWS_ACCESS_KEY_ID), secretAccessKey: new Secret(opts.secret ?? SECRET), sessionToken: undefined, host: url.host });
  const headers = opts.unsigned ? call.headers : await authorize(credentials, call);
  return request(`${url.origin}${call.path}`, { method: 'POST', headers, body: call.body });
}

async function events(body: AsyncIterable<Uint8Array>): Promise<{ events: SseEvent[]; error: unknown }> {
  const decoder = new AwsEventStreamDecoder();
  const out: SseEvent[] = [];
  try {
    for await (const chunk of body) out.push(...decoder.push(chunk));
    decoder.end();
    return { events: out, error: undefined };
  } catch (error) {
    return { events: out, error };
  }
}

const hello = { messages: [{ role: 'user', content: [{ text: 'Say hello' }] }] };

describe('fake Bedrock: Converse and ConverseStream', () => {
  it('answers a signed Converse call with a Converse body and a request id', async () => {
    const fake = await start({ behaviour: { reply: 'one two three' } });
    const res = await send(fake, { ...hello, inferenceConfig: { maxTokens: 2 } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['x-amzn-requestid']).toMatch(/^[0-9a-f-]{36}$/);
    expect(await res.body.json()).toEqual({
      output: { message: { role: 'assistant', content: [{ text: 'one two' }] } },
      stopReason: 'max_tokens',
      usage: { inputTokens: 5, outputTokens: 2, totalTokens: 7, cacheReadInputTokens: 0, cacheWriteInputTokens: 0 },
      metrics: { latencyMs: 1 },
    });
    expect(fake.received[0]?.headers.authorization).toMatch(/^AWS4-HMAC-SHA256 Credential=AKIDFAKEBEDROCK00001\/\d{8}\/us-east-1\/bedrock\/aws4_request/);
  });

  it('streams real binary event-stream frames, metadata after messageStop, with padding', async () => {
    const fake = await start({ behaviour: { reply: 'one two three four', chunks: 2 } });
    const res = await send(fake, hello, { stream: true });
    expect(res.headers['content-type']).toBe('application/vnd.amazon.eventstream');
    const { events: ev, error } = await events(res.body);
    expect(error).toBeUndefined();
    expect(ev.map((e) => e.event)).toEqual(['messageStart', 'contentBlockDelta', 'contentBlockDelta', 'contentBlockStop', 'messageStop', 'metadata']);
    const payloads = ev.map((e) => JSON.parse(e.data) as Record<string, any>);
    expect(payloads.every((p) => typeof p.p === 'string')).toBe(true);
    expect(payloads.slice(1, 3).map((p) => p.delta.text).join('')).toBe('one two three four');
    expect(payloads[4]).toMatchObject({ stopReason: 'end_turn' });
    expect(payloads[5]).toMatchObject({ usage: { inputTokens: 5, outputTokens: 4, totalTokens: 9 } });
  });

  it('calls a tool when tools are offered, streaming its input as string fragments; answers text after a tool result', async () => {
    const fake = await start({ behaviour: { reply: '{"city":"Paris"}', chunks: 3 } });
    const toolConfig = { tools: [{ toolSpec: { name: 'get_weather', inputSchema: { json: { type: 'object' } } } }], toolChoice: { any: {} } };
    const res = await send(fake, { ...hello, toolConfig }, { stream: true });
    const { events: ev } = await events(res.body);
    const payloads = ev.map((e) => JSON.parse(e.data) as Record<string, any>);
    expect(payloads[1]).toMatchObject({ contentBlockIndex: 0, start: { toolUse: { toolUseId: 'tooluse_fake1', name: 'get_weather' } } });
    expect(payloads.filter((_p, i) => ev[i]?.event === 'contentBlockDelta').map((p) => p.delta.toolUse.input).join('')).toBe('{"city":"Paris"}');
    expect(payloads.find((_p, i) => ev[i]?.event === 'messageStop')).toMatchObject({ stopReason: 'tool_use' });
    const followUp = {
      messages: [
        ...hello.messages,
        { role: 'assistant', content: [{ toolUse: { toolUseId: 'tooluse_fake1', name: 'get_weather', input: { city: 'Paris' } } }] },
        { role: 'user', content: [{ toolResult: { toolUseId: 'tooluse_fake1', content: [{ text: 'sunny' }] } }] },
      ],
      toolConfig,
    };
    const after = (await (await send(fake, followUp)).body.json()) as Record<string, any>;
    expect(after.stopReason).toBe('end_turn');
    expect(after.output.message.content[0].text).toBe('{"city":"Paris"}');
  });
});

describe('fake Bedrock: authentication and validation', () => {
  it.each([
    ['unsigned', { unsigned: true }, 'MissingAuthenticationTokenException'],
    ['signed with the wrong secret', { secret: 'wrong' }, 'InvalidSignatureException'],
  ])('%s → 403 with the AWS error type', async (_name, opts, type) => {
    const fake = await start();
    const res = await send(fake, hello, opts);
    expect(res.statusCode).toBe(403);
    expect(res.headers['x-amzn-errortype']).toMatch(new RegExp(`^${type}:`));
    expect(await res.body.json()).toEqual({ message: expect.any(String) });
  });

  it('without a configured secret only the shape is checked', async () => {
    const fake = await start({ unverified: true });
    expect((await send(fake, hello, { secret: 'anything' })).statusCode).toBe(200);
    expect((await send(fake, hello, { unsigned: true })).statusCode).toBe(403);
  });

  it.each([
    [{ messages: [] }, /must start with a user message/],
    [{ ...hello, temperature: 1 }, /extraneous key \[temperature\]/],
    [{ messages: [{ role: 'user', content: [{ text: ' ' }] }] }, /is blank/],
    [{ messages: [{ role: 'user', content: [{ text: 'a' }] }, { role: 'user', content: [{ text: 'b' }] }] }, /must alternate/],
    [{ messages: [{ role: 'user', content: [{ text: 'a', image: {} }] }] }, /exactly one member/],
    [{ messages: [{ role: 'user', content: [{ toolResult: { toolUseId: 'x', content: [{ text: 'r' }] } }] }] }, /toolConfig field must be defined/],
  ])('refuses %j with a ValidationException', async (body, message) => {
    const fake = await start();
    const res = await send(fake, body);
    expect(res.statusCode).toBe(400);
    expect(res.headers['x-amzn-errortype']).toMatch(/^ValidationException:/);
    expect(((await res.body.json()) as { message: string }).message).toMatch(message);
  });

  it('refuses unknown model ids when a model list is set', async () => {
    const fake = await start({ models: ['known'] });
    expect((await send(fake, hello, { model: 'known' })).statusCode).toBe(200);
    expect((await send(fake, hello, { model: 'unknown' })).statusCode).toBe(400);
  });
});

describe('fake Bedrock: scripted faults', () => {
  it('status faults carry x-amzn-errortype and the Bedrock error body', async () => {
    const fake = await start();
    fake.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '1' } }, { kind: 'status', status: 503 });
    const throttled = await send(fake, hello);
    expect([throttled.statusCode, throttled.headers['retry-after'], throttled.headers['x-amzn-errortype']]).toEqual([429, '1', 'ThrottlingException:http://internal.amazon.com/coral/com.amazon.bedrock/']);
    expect(await throttled.body.json()).toEqual({ message: 'Too many requests, please wait before trying again.' });
    expect((await send(fake, hello)).headers['x-amzn-errortype']).toMatch(/^ServiceUnavailableException:/);
    expect((await send(fake, hello)).statusCode).toBe(200);
  });

  it('error-event: k frames, then a modelStreamErrorException frame', async () => {
    const fake = await start();
    fake.enqueue({ kind: 'error-event', afterChunks: 2 });
    const { events: ev, error } = await events((await send(fake, hello, { stream: true })).body);
    expect(error).toBeUndefined();
    expect(ev.map((e) => e.event)).toEqual(['messageStart', 'contentBlockDelta', 'exception:modelStreamErrorException']);
  });

  it('reset-mid-stream: k whole frames, then the connection drops', async () => {
    const fake = await start();
    fake.enqueue({ kind: 'reset-mid-stream', afterChunks: 3 });
    const { events: ev, error } = await events((await send(fake, hello, { stream: true })).body);
    expect(ev).toHaveLength(3);
    expect(error).toBeDefined();
  });

  it('stall: k frames, then silence with the connection open (the client must time out)', async () => {
    const fake = await start();
    fake.enqueue({ kind: 'stall', afterChunks: 2 });
    const res = await send(fake, hello, { stream: true });
    const decoder = new AwsEventStreamDecoder();
    const seen: SseEvent[] = [];
    const iterator = res.body[Symbol.asyncIterator]();
    while (seen.length < 2) {
      const next = await iterator.next();
      if (next.done) break;
      seen.push(...decoder.push(next.value as Uint8Array));
    }
    expect(seen.map((e) => e.event)).toEqual(['messageStart', 'contentBlockDelta']);
    const more = await Promise.race([iterator.next().then(() => 'data'), new Promise((r) => setTimeout(() => r('silence'), 100))]);
    expect(more).toBe('silence');
    res.body.destroy();
  });
});

describe('llm-gateway fake-upstream --dialect bedrock', () => {
  it('starts a Bedrock fake and prints its base URL', async () => {
    const write = vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
    try {
      const fake = await runFakeUpstreamCli({ dialect: 'bedrock', host: '127.0.0.1', port: 0 });
      fakes.push(fake);
      expect(write).toHaveBeenCalledWith(`fake bedrock upstream listening on ${fake.baseUrl}\n`);
      expect(fake.baseUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect((await send(fake, hello, { secret: 'any-secret' })).statusCode).toBe(200);
    } finally {
      write.mockRestore();
    }
  });
});
