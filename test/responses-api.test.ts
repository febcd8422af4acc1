/**
 * `POST /v1/responses` end to end over real sockets: every provider the conformance harness
 * covers answers a Responses request (JSON and stream) through the chat translation, text and
 * function tool calls, with OpenAI's named events and sequence numbers; untranslatable
 * parameters are 400s naming them.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { RequestFinishedEvent } from '../src/observability/events.js';
import { FAKE_AWS_ACCESS_KEY_ID } from '../src/testing/fake-upstream/bedrock-dialect.js';
import type { FakeDialectName } from '../src/testing/fake-upstream/script.js';
import { chat, deploymentFor, KEY, startHarness, waitUntil, type Harness, type HttpResult } from './helpers/harness.js';
import { PROVIDERS, OPENAI_PROTOCOL, providerHarness, type Provider } from './helpers/providers.js';
import { openAiStreamBytes } from './helpers/recorded.js';
import { responsesEvents } from './helpers/responses-sse.js';
import { specErrors, type SpecSchema } from './helpers/openai-spec.js';

function valid(schema: SpecSchema, value: unknown): void {
  expect(specErrors(schema, value), `${schema}: ${JSON.stringify(value).slice(0, 400)}`).toEqual([]);
}

const PARALLEL_TOOLS = 'f82268f2fefd5cfbc7eeb59c297688be2f6ca0849a6e4f17851b517310841d9b.sse';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function start(provider: Provider): Promise<Harness> {
  const h = await providerHarness(provider, { reply: 'Responses reply text.' });
  open.push(h);
  return h;
}

function responses(h: Harness, body: Record<string, unknown>): Promise<HttpResult> {
  return chat(h.url, { model: 'chat', ...body }, { path: '/v1/responses' });
}

function expectWellFormedStream(res: HttpResult): Array<Record<string, any>> {
  expect(res.status).toBe(200);
  expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
  expect(res.text).not.toContain('[DONE]');
  const events = responsesEvents(res.text);
  events.forEach((e, i) => {
    expect(e.event).toBe(e.data.type);
    expect(e.data.sequence_number).toBe(i);
    valid('ResponseStreamEvent', e.data);
  });
  return events.map((e) => e.data);
}

describe.each(PROVIDERS)('/v1/responses served by a %s deployment (chat translation)', (provider) => {
  it('JSON: a completed response with the text, usage and the echoed request fields', async () => {
    const h = await start(provider);
    const res = await responses(h, { input: 'Hi there', instructions: 'Be brief.', metadata: { k: 'v' }, max_output_tokens: 50 });
    expect(res.status, res.text).toBe(200);
    const r = res.json();
    valid('Response', r);
    if (OPENAI_PROTOCOL.includes(provider)) valid('CreateChatCompletionRequest', h.fakes[0]!.received.at(-1)!.body);
    expect(r).toMatchObject({ object: 'response', status: 'completed', model: 'chat', error: null, incomplete_details: null, instructions: 'Be brief.', metadata: { k: 'v' }, max_output_tokens: 50, store: true, previous_response_id: null });
    expect(r.id).toMatch(/^resp_/);
    expect(r.output).toHaveLength(1);
    expect(r.output[0]).toMatchObject({ type: 'message', role: 'assistant', status: 'completed', content: [{ type: 'output_text', text: 'Responses reply text.', annotations: [] }] });
    expect(r.output[0].id).toMatch(/^msg_/);
    expect(r.usage.total_tokens).toBe(r.usage.input_tokens + r.usage.output_tokens);
    expect(r.usage.output_tokens).toBeGreaterThan(0);
  });

  it('stream: named events numbered from 0, text deltas, response.completed with the usage', async () => {
    const h = await start(provider);
    const events = expectWellFormedStream(await responses(h, { input: [{ role: 'user', content: 'Hi' }], stream: true }));
    const types = events.map((e) => e.type);
    expect(types.slice(0, 4)).toEqual(['response.created', 'response.in_progress', 'response.output_item.added', 'response.content_part.added']);
    expect(types.at(-1)).toBe('response.completed');
    const text = events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('');
    expect(text).toBe('Responses reply text.');
    const done = events.at(-1)!.response;
    expect(done.status).toBe('completed');
    expect(done.output[0].content[0].text).toBe('Responses reply text.');
    expect(done.usage.output_tokens).toBeGreaterThan(0);
    expect(done.id).toBe(events[0]!.response.id);
  });

  it('refuses what the chat form cannot carry, naming it', async () => {
    const h = await start(provider);
    for (const [extra, param] of [
      [{ tools: [{ type: 'web_search' }] }, 'tools[0]'],
      [{ include: ['reasoning.encrypted_content'] }, 'include'],
      [{ truncation: 'auto' }, 'truncation'],
      [{ input: [{ type: 'item_reference', id: 'msg_1' }] }, 'input[0]'],
    ] as const) {
      const res = await responses(h, { input: 'x', ...extra });
      expect(res.status, JSON.stringify(extra)).toBe(400);
      expect(res.json().error).toMatchObject({ code: 'unsupported_parameter', param });
      valid('ErrorResponse', res.json());
    }
    expect(h.fakes[0]!.received).toHaveLength(0);
  });
});

describe('/v1/responses anywhere', () => {
  it('background, conversation and (without a store) previous_response_id are refused; bad input is a 400 naming it', async () => {
    const h = await start('openai');
    const cases: Array<[Record<string, unknown>, number, string]> = [
      [{ input: 'x', background: true }, 400, 'background'],
      [{ input: 'x', conversation: 'conv_1' }, 400, 'conversation'],
      [{ input: 'x', previous_response_id: 'resp_1' }, 400, 'previous_response_id'],
      [{}, 400, 'input'],
      [{ input: 'x', temperature: 3 }, 400, 'temperature'],
      [{ input: [{ type: 'message', role: 'robot', content: 'x' }] }, 400, 'input[0].role'],
    ];
    for (const [body, status, param] of cases) {
      const res = await responses(h, body);
      expect(res.status, JSON.stringify(body)).toBe(status);
      expect(res.json().error.param).toBe(param);
    }
  });
});

describe.each(OPENAI_PROTOCOL)('function tools over a %s deployment', (provider) => {
  const tools = [{ type: 'function', name: 'GetWeatherArgs', description: 'Weather', parameters: { type: 'object', properties: { city: { type: 'string' } } }, strict: true }];

  it('the tools reach the upstream in chat form; a recorded parallel tool-call stream comes back as function_call items', async () => {
    const h = await start(provider);
    h.fakes[0]!.enqueue({ kind: 'replay', body: openAiStreamBytes(PARALLEL_TOOLS), contentType: 'text/event-stream' });
    const events = expectWellFormedStream(await responses(h, { input: 'Weather in Edinburgh?', tools, tool_choice: 'auto', stream: true }));
    const sent = h.fakes[0]!.received.at(-1)!.body as Record<string, any>;
    expect(sent.tools).toEqual([{ type: 'function', function: { name: 'GetWeatherArgs', description: 'Weather', parameters: tools[0]!.parameters, strict: true } }]);
    expect(sent.tool_choice).toBe('auto');
    const done = events.at(-1)!;
    expect(done.type).toBe('response.completed');
    const calls = done.response.output.filter((i: any) => i.type === 'function_call');
    expect(calls.map((c: any) => c.name)).toEqual(['GetWeatherArgs', 'get_stock_price']);
    for (const c of calls) {
      expect(c.status).toBe('completed');
      expect(c.call_id).toMatch(/^call_/);
      expect(JSON.parse(c.arguments)).toBeTypeOf('object');
      const deltas = events.filter((e) => e.type === 'response.function_call_arguments.delta' && e.item_id === c.id).map((e) => e.delta).join('');
      expect(deltas).toBe(c.arguments);
    }
  });

  it('JSON: a tool call comes back as a function_call item; the call and its output go back as chat messages', async () => {
    const h = await start(provider);
    const completion = {
      id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'served-model',
      choices: [{ index: 0, finish_reason: 'tool_calls', logprobs: null, message: { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'GetWeatherArgs', arguments: '{"city":"Paris"}' } }] } }],
      usage: { prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 },
    };
    h.fakes[0]!.enqueue({ kind: 'replay', body: JSON.stringify(completion), contentType: 'application/json' });
    const res = await responses(h, { input: 'Weather in Paris?', tools });
    expect(res.status, res.text).toBe(200);
    valid('Response', res.json());
    expect(res.json().output).toEqual([expect.objectContaining({ type: 'function_call', call_id: 'call_abc', name: 'GetWeatherArgs', arguments: '{"city":"Paris"}', status: 'completed' })]);
    expect(res.json().usage).toMatchObject({ input_tokens: 20, output_tokens: 7, total_tokens: 27 });

    const next = await responses(h, {
      tools,
      input: [
        { role: 'user', content: 'Weather in Paris?' },
        { type: 'function_call', call_id: 'call_abc', name: 'GetWeatherArgs', arguments: '{"city":"Paris"}' },
        { type: 'function_call_output', call_id: 'call_abc', output: '{"temp":21}' },
      ],
    });
    expect(next.status, next.text).toBe(200);
    expect((h.fakes[0]!.received.at(-1)!.body as Record<string, any>).messages).toEqual([
      { role: 'user', content: 'Weather in Paris?' },
      { role: 'assistant', content: null, tool_calls: [{ id: 'call_abc', type: 'function', function: { name: 'GetWeatherArgs', arguments: '{"city":"Paris"}' } }] },
      { role: 'tool', tool_call_id: 'call_abc', content: '{"temp":21}' },
    ]);
  });
});

/** The other providers' fakes (their own protocols): alias `chat`. */
const OTHER: ReadonlyArray<Exclude<FakeDialectName, 'openai' | 'triton'>> = ['anthropic', 'gemini', 'ollama', 'bedrock'];
const SECRET = 'provider-secret-0123456789abcdef';
const otherModel: Record<string, string> = { anthropic: 'claude-sonnet-4-5', gemini: 'gemini-2.5-flash', ollama: 'llama3.2', bedrock: 'us.anthropic.claude-3-5-haiku-20241022-v1:0' };

async function startOther(dialect: (typeof OTHER)[number], reply = 'Responses reply text.'): Promise<Harness> {
  const keyed = dialect === 'anthropic' || dialect === 'gemini' || dialect === 'bedrock';
  const h = await startHarness({
    fakes: [{ dialect, behaviour: { reply, chunks: 3 }, ...(keyed ? { apiKey: SECRET } : {}) }],
    env: { PROVIDER_KEY: SECRET, AWS_ACCESS_KEY_ID: FAKE_AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    config: ([fake]) => {
      const deployment =
        dialect === 'bedrock'
          ? { provider: 'bedrock', baseUrl: fake!.baseUrl, aws: { region: 'us-east-1', accessKeyId: '${env:AWS_ACCESS_KEY_ID}', secretAccessKey: '${env:AWS_SECRET_ACCESS_KEY}' } }
          : deploymentFor(fake!, keyed ? { apiKey: '${env:PROVIDER_KEY}' } : {});
      return { deployments: { d: deployment }, models: { chat: { targets: [{ deployment: 'd', model: otherModel[dialect], defaultMaxTokens: 256 }] } } };
    },
  });
  open.push(h);
  return h;
}

describe.each(OTHER)('/v1/responses served by a %s deployment (chat translation to its own protocol)', (dialect) => {
  it('JSON and stream: text, usage, spec-valid', async () => {
    const h = await startOther(dialect);
    const res = await responses(h, { input: 'Hi there', instructions: 'Be brief.' });
    expect(res.status, res.text).toBe(200);
    valid('Response', res.json());
    expect(res.json().output[0].content[0].text).toBe('Responses reply text.');
    expect(res.json().usage.input_tokens).toBeGreaterThan(0);
    const events = expectWellFormedStream(await responses(h, { input: 'Hi there', stream: true }));
    expect(events.filter((e) => e.type === 'response.output_text.delta').map((e) => e.delta).join('')).toBe('Responses reply text.');
    expect(events.at(-1)).toMatchObject({ type: 'response.completed', response: { status: 'completed' } });
  });

});

// Ollama takes no forced tool_choice (a 400 naming it); its tools are in test/openai-agents.test.ts.
describe.each(['anthropic', 'gemini', 'bedrock'] as const)('/v1/responses served by a %s deployment: function tools', (dialect) => {
  it('a forced function tool comes back as a function_call item, JSON and stream', async () => {
    const h = await startOther(dialect, '{"city":"Paris"}');
    const tools = [{ type: 'function', name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } }];
    const res = await responses(h, { input: 'Weather in Paris?', tools, tool_choice: 'required' });
    expect(res.status, res.text).toBe(200);
    valid('Response', res.json());
    const call = res.json().output.find((i: any) => i.type === 'function_call');
    expect(call).toMatchObject({ name: 'get_weather', status: 'completed' });
    expect(JSON.parse(call.arguments)).toBeTypeOf('object');
    const events = expectWellFormedStream(await responses(h, { input: 'Weather in Paris?', tools, tool_choice: 'required', stream: true }));
    const done = events.at(-1)!.response.output.find((i: any) => i.type === 'function_call');
    expect(done).toMatchObject({ name: 'get_weather', status: 'completed' });
    expect(events.filter((e) => e.type === 'response.function_call_arguments.delta').map((e) => e.delta).join('')).toBe(done.arguments);
  });
});

describe('/v1/responses accounting', () => {
  it('a client that leaves mid-stream is recorded once, as client_disconnect', async () => {
    const finished: RequestFinishedEvent[] = [];
    const h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: 'one two three four five six seven eight', chunks: 8, chunkIntervalMs: 100 } }],
      eventSinks: [{ requestFinished: (e) => void finished.push(e) }],
      config: ([fake]) => ({ deployments: { d: deploymentFor(fake!) }, models: { chat: { targets: [{ deployment: 'd', model: 'served-model' }] } } }),
    });
    open.push(h);
    const controller = new AbortController();
    const res = await fetch(`${h.url}/v1/responses`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'chat', input: 'Hi', stream: true }),
      signal: controller.signal,
    });
    expect(res.status).toBe(200);
    const reader = res.body!.getReader();
    let seen = '';
    while (!seen.includes('response.output_text.delta')) {
      const { value, done } = await reader.read();
      if (done) break;
      seen += Buffer.from(value).toString('utf8');
    }
    controller.abort();
    await reader.closed.catch(() => undefined);
    await waitUntil(() => finished.length > 0, 5_000);
    await new Promise((r) => setTimeout(r, 300));
    expect(finished).toHaveLength(1);
    expect(finished[0]).toMatchObject({ route: '/v1/responses', outcome: 'client_disconnect', stream: true });
  });

  it('a failure after the commit point is one error event numbered after the last event, then the end', async () => {
    const h = await start('openai');
    h.fakes[0]!.enqueue({ kind: 'reset-mid-stream', afterChunks: 2 });
    const events = expectWellFormedStream(await responses(h, { input: 'Hi', stream: true }));
    expect(events.some((e) => e.type === 'response.output_text.delta')).toBe(true);
    expect(events.at(-1)).toMatchObject({ type: 'error', param: null });
    expect(events.at(-1)!.code).toMatch(/^upstream_/);
    expect(events.filter((e) => e.type === 'response.completed')).toHaveLength(0);
  });

  it('the cost rides in response.completed usage when the target is priced', async () => {
    const h = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: 'Priced.' } }],
      config: ([fake]) => ({
        deployments: { d: deploymentFor(fake!) },
        models: { chat: { targets: [{ deployment: 'd', model: 'served-model', price: { input: 1, output: 2 } }] } },
      }),
    });
    open.push(h);
    const events = expectWellFormedStream(await responses(h, { input: 'Hi', stream: true }));
    expect(events.at(-1)!.response.usage.cost_usd).toMatch(/^\d+\.\d+$/);
  });
});
