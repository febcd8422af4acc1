/**
 * `POST /v1/responses/input_tokens` over real sockets with the openai SDK 6.49
 * (`client.responses.inputTokens.count`): our tokenizer for a deployment that does not serve the
 * Responses API natively, the upstream's own count for one that does (a small server standing in
 * for OpenAI's endpoint), errors in OpenAI's shape naming the parameter.
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { AuthenticationError, BadRequestError, PermissionDeniedError, RateLimitError } from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { countTextsTokens } from '../src/api/token-count.js';
import type { RequestFinishedEvent } from '../src/observability/events.js';
import { chat, deploymentFor, KEY, startHarness, type Harness } from './helpers/harness.js';

const NARROW_KEY = 'sk-test-narrow-0123456789';
const TIGHT_KEY = 'sk-test-tight-0123456789';
const PATH = '/v1/responses/input_tokens';

/** Stands in for OpenAI's count endpoint: answers `count` (or `status` with an error), records what it got. */
interface CountServer {
  readonly url: string;
  readonly received: Array<{ path: string; headers: IncomingHttpHeaders; body: unknown }>;
  answer: { status: number; body: unknown };
  close(): Promise<void>;
}

async function countServer(): Promise<CountServer> {
  const received: CountServer['received'] = [];
  const state = { answer: { status: 200, body: { object: 'response.input_tokens', input_tokens: 42 } as unknown } };
  const server: Server = createServer((req, res) => {
    let text = '';
    req.on('data', (c: Buffer) => (text += c.toString('utf8')));
    req.on('end', () => {
      received.push({ path: req.url ?? '', headers: req.headers, body: JSON.parse(text) as unknown });
      res.writeHead(state.answer.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(state.answer.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`,
    received,
    get answer() {
      return state.answer;
    },
    set answer(a) {
      state.answer = a;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  await Promise.all(cleanups.splice(0).map((c) => c()));
});

async function setup(): Promise<{ h: Harness; native: CountServer; events: RequestFinishedEvent[] }> {
  const native = await countServer();
  cleanups.push(() => native.close());
  const events: RequestFinishedEvent[] = [];
  const h = await startHarness({
    env: { NATIVE_KEY: 'sk-native-upstream-0123456789' },
    fakes: [{ dialect: 'openai', behaviour: { reply: 'ok done' } }, { dialect: 'gemini', models: ['served-gemini'] }, { dialect: 'openai', models: ['served-fake-native'] }],
    eventSinks: [{ requestFinished: (e) => void events.push(e) }],
    config: ([openai, gemini, nativeFake]) => ({
      deployments: {
        // The fake's host is not api.openai.com: translated to chat, so counted by our tokenizer.
        chatOnly: deploymentFor(openai!),
        native: { provider: 'openai', baseUrl: native.url, apiKey: '${env:NATIVE_KEY}', responsesApi: true },
        gem: deploymentFor(gemini!),
        nativeFake: deploymentFor(nativeFake!, { responsesApi: true }),
      },
      models: {
        gpt: { targets: [{ deployment: 'chatOnly', model: 'served-gpt' }] },
        'gpt-native': { targets: [{ deployment: 'native', model: 'served-native' }] },
        gem: { targets: [{ deployment: 'gem', model: 'served-gemini' }] },
        'fake-native': { targets: [{ deployment: 'nativeFake', model: 'served-fake-native' }] },
      },
      tenants: {
        main: { keys: [KEY], models: ['*'] },
        narrow: { keys: [NARROW_KEY], models: ['gpt-native'] },
        tight: { keys: [TIGHT_KEY], models: ['*'], limits: { requests: { capacity: 1, refillPerSecond: 0.001 } } },
      },
    }),
  });
  cleanups.push(() => h.close());
  return { h, native, events };
}

const client = (h: Harness, apiKey = KEY) => new OpenAI({ baseURL: `${h.url}/v1`, apiKey, maxRetries: 0, timeout: 10_000 });
const params = { input: 'Tell me a joke about tokens.', instructions: 'Be brief.' };

describe('openai 6.49 responses.inputTokens.count → /v1/responses/input_tokens', () => {
  it('a deployment without the native Responses API: our tokenizer counts, marked an estimate', async () => {
    const { h } = await setup();
    const { data, response } = await client(h).responses.inputTokens.count({ model: 'gpt', ...params }).withResponse();
    expect(data).toEqual({ object: 'response.input_tokens', input_tokens: 3 + 3 * 2 + countTextsTokens([params.instructions, params.input]) });
    expect(response.headers.get('x-gateway-token-count')).toBe('estimate');
    expect(h.fakes[0]!.received).toEqual([]);
  });

  it('a native Responses deployment counts with its own endpoint: the body as sent, model replaced', async () => {
    const { h, native } = await setup();
    const tools = [{ type: 'function' as const, name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: false }];
    const { data, response } = await client(h).responses.inputTokens.count({ model: 'gpt-native', ...params, tools, reasoning: { effort: 'low' } }).withResponse();
    expect(data).toEqual({ object: 'response.input_tokens', input_tokens: 42 });
    expect(response.headers.get('x-gateway-token-count')).toBe('upstream');
    expect(response.headers.get('x-gateway-provider')).toBe('native');
    expect(native.received).toHaveLength(1);
    expect(native.received[0]!.path).toBe('/v1/responses/input_tokens');
    expect(native.received[0]!.headers.authorization).toBe('Bearer sk-native-upstream-0123456789');
    expect(native.received[0]!.body).toEqual({ model: 'served-native', ...params, tools, reasoning: { effort: 'low' } });
  });

  it("a Gemini deployment counts with :countTokens (the chat translation); what chat cannot carry is estimated", async () => {
    const { h } = await setup();
    const { data, response } = await client(h).responses.inputTokens.count({ model: 'gem', ...params }).withResponse();
    // The Gemini fake counts words plus one per content: 2 (instructions) + 6 + 1.
    expect(data).toEqual({ object: 'response.input_tokens', input_tokens: 9 });
    expect(response.headers.get('x-gateway-token-count')).toBe('upstream');
    expect(h.fakes[1]!.received.map((r) => r.path)).toEqual(['/v1beta/models/served-gemini:countTokens']);
    const builtIn = await client(h).responses.inputTokens.count({ model: 'gem', ...params, tools: [{ type: 'web_search' }] }).withResponse();
    expect(builtIn.response.headers.get('x-gateway-token-count')).toBe('estimate');
    expect(h.fakes[1]!.received).toHaveLength(1);
  });

  it("the OpenAI fake's Responses API (responsesApi: true): its count equals the input_tokens of a create with the same input", async () => {
    const { h } = await setup();
    const { data, response } = await client(h).responses.inputTokens.count({ model: 'fake-native', ...params }).withResponse();
    expect(response.headers.get('x-gateway-token-count')).toBe('upstream');
    expect(response.headers.get('x-gateway-provider')).toBe('nativeFake');
    const created = await client(h).responses.create({ model: 'fake-native', ...params });
    expect(data).toEqual({ object: 'response.input_tokens', input_tokens: created.usage!.input_tokens });
    expect(h.fakes[2]!.received.map((r) => r.path)).toEqual(['/v1/responses/input_tokens', '/v1/responses']);
    expect(h.fakes[2]!.received[0]!.body).toEqual({ model: 'served-fake-native', ...params });
  });

  it('a native upstream whose count fails (500, or no count in its answer): the tokenizer answers', async () => {
    const { h, native } = await setup();
    for (const answer of [{ status: 500, body: { error: { message: 'boom', type: 'server_error' } } }, { status: 200, body: { object: 'response.input_tokens' } }]) {
      native.answer = answer;
      const { data, response } = await client(h).responses.inputTokens.count({ model: 'gpt-native', ...params }).withResponse();
      expect(data.input_tokens).toBe(3 + 3 * 2 + countTextsTokens([params.instructions, params.input]));
      expect(response.headers.get('x-gateway-token-count')).toBe('estimate');
    }
    expect(native.received).toHaveLength(2);
  });

  it('previous_response_id: the stored conversation is counted with the new input (the team\'s own turns only)', async () => {
    const { h } = await setup();
    const first = await client(h).responses.create({ model: 'gpt', input: 'Tell me a joke about tokens.' });
    const alone = await client(h).responses.inputTokens.count({ model: 'gpt', input: 'Another one.' });
    const continued = await client(h).responses.inputTokens.count({ model: 'gpt', input: 'Another one.', previous_response_id: first.id });
    // The first turn's input and its answer ('ok done') are in front of the new input.
    const [turnInput, answer] = [countTextsTokens(['Tell me a joke about tokens.']), countTextsTokens(['ok done'])];
    expect(continued.input_tokens - alone.input_tokens).toBeGreaterThanOrEqual(turnInput + answer);
    const unknown = await client(h).responses.inputTokens.count({ model: 'gpt', input: 'x', previous_response_id: 'resp_0123456789abcdef' }).then(() => undefined, (e: unknown) => e);
    expect(unknown).toBeInstanceOf(BadRequestError);
    expect((unknown as BadRequestError).code).toBe('previous_response_not_found');
  });

  it("errors in OpenAI's shape through the SDK classes: 401, 403, 400 naming the parameter, 429", async () => {
    const { h, native } = await setup();
    await expect(client(h, 'sk-wrong-0123456789').responses.inputTokens.count({ model: 'gpt', ...params })).rejects.toBeInstanceOf(AuthenticationError);
    await expect(client(h, NARROW_KEY).responses.inputTokens.count({ model: 'gpt', ...params })).rejects.toBeInstanceOf(PermissionDeniedError);
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ model: 'gpt', ...params, max_output_tokens: 10 }, 'max_output_tokens'],
      [{ model: 'gpt', ...params, stream: true }, 'stream'],
      [{ model: 'gpt', ...params, previous_response_id: 'resp_123' }, 'previous_response_id'],
      [{ model: 'gpt', ...params, conversation: 'conv_1' }, 'conversation'],
      [{ ...params }, 'model'],
      [{ model: 'gpt', input: [{ type: 'message', role: 'user', content: 7 }] }, 'input'],
    ];
    for (const [body, param] of cases) {
      const err = await client(h).responses.inputTokens.count(body as never).then(() => undefined, (e: unknown) => e);
      expect(err, param).toBeInstanceOf(BadRequestError);
      expect((err as BadRequestError).param ?? (err as BadRequestError).message, param).toContain(param);
    }
    expect((await client(h, TIGHT_KEY).responses.inputTokens.count({ model: 'gpt', ...params })).input_tokens).toBeGreaterThan(0);
    const limited = await client(h, TIGHT_KEY).responses.inputTokens.count({ model: 'gpt', ...params }).then(() => undefined, (e: unknown) => e);
    expect(limited).toBeInstanceOf(RateLimitError);
    expect(Number((limited as RateLimitError).headers?.get('retry-after'))).toBeGreaterThan(0);
    expect(native.received).toEqual([]);
  });

  it('instructions alone (no input) count; one recorded outcome per request', async () => {
    const { h, events } = await setup();
    const res = await chat(h.url, { model: 'gpt', instructions: 'Only instructions here.' }, { path: PATH });
    expect(res.status).toBe(200);
    expect(res.json()).toEqual({ object: 'response.input_tokens', input_tokens: 3 + 3 + countTextsTokens(['Only instructions here.']) });
    const bad = await chat(h.url, { model: 'gpt', input: 'x', temperature: 1 }, { path: PATH });
    expect(bad.status).toBe(400);
    expect(bad.json().error).toMatchObject({ param: 'temperature', type: 'invalid_request_error' });
    const recorded = events.filter((e) => e.route === PATH);
    expect(recorded.map((e) => [e.requestId, e.status])).toEqual([
      [res.headers['x-gateway-request-id'], 200],
      [bad.headers['x-gateway-request-id'], 400],
    ]);
  });
});
