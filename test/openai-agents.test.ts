/**
 * The OpenAI Agents SDK for JavaScript (`@openai/agents` 0.14.3, on `openai` 6.49) through the
 * gateway's `/v1/responses`, against a deployment of every provider type: an agent with one
 * function tool, run to completion and streamed. The SDK runs the loop itself: it sends the
 * Responses request, gets a `function_call` item, calls our tool with the model's arguments,
 * sends the call and its `function_call_output` back, and ends with the model's text. Each
 * upstream's recorded requests show that the second call carried the tool result in that
 * provider's own format. Triton cannot call tools: the run fails with the SDK surfacing our 400
 * naming `tools`.
 */
import OpenAI, { BadRequestError } from 'openai';
import { Agent, OpenAIProvider, Runner, setTracingDisabled, tool, type ModelSettings } from '@openai/agents';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { FAKE_AWS_ACCESS_KEY_ID } from '../src/testing/fake-upstream/bedrock-dialect.js';
import type { FakeUpstream, ReceivedRequest } from '../src/testing/fake-upstream/fake-upstream.js';
import type { FakeDialectName } from '../src/testing/fake-upstream/script.js';
import { deploymentFor, KEY, startHarness, type Harness } from './helpers/harness.js';
import { openAiStreamBytes } from './helpers/recorded.js';
import { toolCallCompletion } from './helpers/chat-completions.js';

type Json = Record<string, any>;

const REPLY = 'It is sunny in Paris today.';
const SECRET = 'provider-secret-0123456789abcdef';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

beforeAll(() => {
  // Nothing may leave the test for OpenAI's trace ingestion.
  setTracingDisabled(true);
});

interface Case {
  readonly name: string;
  readonly dialect: FakeDialectName;
  /** The deployment (given the fake), as the config would have it. */
  readonly deployment: (fake: FakeUpstream) => Json;
  readonly model: string;
  /** What the fake's reply is set to (bedrock's fake calls a tool with its reply when that is a JSON object). */
  readonly reply: string;
  /** Settings the agent needs for the fake to call the tool (anthropic's and OpenAI's fakes call only when forced). */
  readonly settings: ModelSettings;
  /** The arguments the fake's tool call carries. */
  readonly args: Json;
  /** Queue what the first upstream call answers, for fakes that never call tools by themselves. */
  readonly prime?: (fake: FakeUpstream, stream: boolean) => void;
  /** The path the model calls reach upstream. */
  readonly path: RegExp;
  /** The tool result (and the call it answers) as the second upstream request carries it. */
  readonly toolResult: (body: Json, output: string) => void;
  /** The JSON schema of a structured-output request as the upstream received it. */
  readonly schemaSent: (body: Json) => unknown;
  /** The fake's reply for structured output, when it does not make one from the schema itself (OpenAI's fakes echo text). */
  readonly structuredReply?: string;
}

const weatherSchema = z.object({ city: z.string() });

/** A get_weather call streamed: the id and name first, the arguments in two fragments, the finish, the usage. */
function chatToolCallStream(args: string): string {
  const base = { id: 'chatcmpl-agents-2', object: 'chat.completion.chunk', created: 1_741_569_952, model: 'served-model', system_fingerprint: 'fp_1' };
  const chunk = (delta: Json, finish: string | null = null): Json => ({ ...base, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }], usage: null });
  const cut = Math.floor(args.length / 2);
  const chunks = [
    chunk({ role: 'assistant', content: null, tool_calls: [{ index: 0, id: 'call_agents_2', type: 'function', function: { name: 'get_weather', arguments: '' } }], refusal: null }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(0, cut) } }] }),
    chunk({ tool_calls: [{ index: 0, function: { arguments: args.slice(cut) } }] }),
    chunk({}, 'tool_calls'),
    { ...base, choices: [], usage: { prompt_tokens: 50, completion_tokens: 15, total_tokens: 65 } },
  ];
  return `${chunks.map((c) => `data: ${JSON.stringify(c)}\n\n`).join('')}data: [DONE]\n\n`;
}

/** Chat form (OpenAI's protocol, translated): the assistant turn with the call, then a `tool` message. */
function chatToolResult(body: Json, output: string): void {
  const messages = body.messages as Json[];
  const call = messages.at(-2)!;
  expect(call).toMatchObject({ role: 'assistant', tool_calls: [{ type: 'function', function: { name: 'get_weather' } }] });
  expect(messages.at(-1)).toEqual({ role: 'tool', tool_call_id: call.tool_calls[0].id, content: output });
}

/** Responses form (native): the function_call item, then its function_call_output, same call_id. */
function responsesToolResult(body: Json, output: string): void {
  const input = body.input as Json[];
  const call = input.at(-2)!;
  expect(call).toMatchObject({ type: 'function_call', name: 'get_weather' });
  expect(input.at(-1)).toMatchObject({ type: 'function_call_output', call_id: call.call_id, output });
}

const vllmPrime = (fake: FakeUpstream, stream: boolean): void => {
  const args = '{"city":"Paris"}';
  fake.enqueue(stream ? { kind: 'replay', body: chatToolCallStream(args), contentType: 'text/event-stream' } : { kind: 'replay', body: JSON.stringify(toolCallCompletion(args)), contentType: 'application/json' });
};

const CASES: readonly Case[] = [
  {
    name: 'openai (native Responses API, responsesApi: true)',
    schemaSent: (b) => b.text.format.schema,
    structuredReply: '{"city":"Lyon"}',
    dialect: 'openai',
    deployment: (fake) => deploymentFor(fake, { responsesApi: true }),
    model: 'served-model',
    reply: REPLY,
    settings: { toolChoice: 'required' },
    args: { city: 'fake-city' },
    path: /^\/v1\/responses$/,
    toolResult: responsesToolResult,
  },
  {
    name: 'azure (native Responses API, the v1 surface)',
    schemaSent: (b) => b.text.format.schema,
    structuredReply: '{"city":"Lyon"}',
    dialect: 'openai',
    deployment: (fake) => ({ provider: 'azure', baseUrl: `${fake.baseUrl.replace(/\/v1$/, '')}/openai/v1` }),
    model: 'served-model',
    reply: REPLY,
    settings: { toolChoice: 'required' },
    args: { city: 'fake-city' },
    path: /^\/openai\/v1\/responses$/,
    toolResult: responsesToolResult,
  },
  {
    name: 'vllm (translated to chat completions)',
    schemaSent: (b) => b.response_format.json_schema.schema,
    structuredReply: '{"city":"Lyon"}',
    dialect: 'openai',
    deployment: (fake) => ({ provider: 'vllm', baseUrl: fake.baseUrl }),
    model: 'served-model',
    reply: REPLY,
    settings: {},
    args: { city: 'Paris' },
    prime: vllmPrime,
    path: /^\/v1\/chat\/completions$/,
    toolResult: chatToolResult,
  },
  {
    name: 'azure (translated to chat completions, api-version 2024-10-21)',
    schemaSent: (b) => b.response_format.json_schema.schema,
    structuredReply: '{"city":"Lyon"}',
    dialect: 'openai',
    deployment: (fake) => ({ provider: 'azure', baseUrl: `${fake.baseUrl.replace(/\/v1$/, '')}/openai`, apiVersion: '2024-10-21' }),
    model: 'served-model',
    reply: REPLY,
    settings: {},
    args: { city: 'Paris' },
    prime: vllmPrime,
    path: /^\/openai\/deployments\/served-model\/chat\/completions$/,
    toolResult: chatToolResult,
  },
  {
    name: 'anthropic (Messages)',
    schemaSent: (b) => b.output_config.format.schema,
    dialect: 'anthropic',
    deployment: (fake) => deploymentFor(fake, { apiKey: '${env:PROVIDER_KEY}' }),
    model: 'claude-sonnet-4-5',
    reply: REPLY,
    settings: { toolChoice: 'required' },
    args: { city: 'fake-city' },
    path: /^\/v1\/messages$/,
    toolResult: (body, output) => {
      const messages = body.messages as Json[];
      const use = (messages.at(-2)!.content as Json[]).find((b) => b.type === 'tool_use')!;
      expect(use).toMatchObject({ type: 'tool_use', name: 'get_weather' });
      expect(messages.at(-1)).toMatchObject({ role: 'user', content: [{ type: 'tool_result', tool_use_id: use.id, content: output }] });
    },
  },
  {
    name: 'gemini (generateContent, Gemini 3: signed calls)',
    schemaSent: (b) => b.generationConfig.responseJsonSchema,
    dialect: 'gemini',
    deployment: (fake) => deploymentFor(fake, { apiKey: '${env:PROVIDER_KEY}' }),
    model: 'gemini-3-pro-preview',
    reply: REPLY,
    settings: {},
    args: { city: 'sample' },
    path: /^\/v1beta\/models\/gemini-3-pro-preview:(generateContent|streamGenerateContent)$/,
    toolResult: (body, output) => {
      const contents = body.contents as Json[];
      const call = (contents.at(-2)!.parts as Json[])[0]!;
      // The signature Gemini 3 put on the call came back with it, through the SDK's call_id.
      expect(call).toMatchObject({ functionCall: { name: 'get_weather' }, thoughtSignature: expect.any(String) });
      expect(contents.at(-1)).toMatchObject({ role: 'user', parts: [{ functionResponse: { name: 'get_weather', response: expect.anything() } }] });
      expect(JSON.stringify(contents.at(-1))).toContain(JSON.stringify(output).slice(1, -1));
    },
  },
  {
    name: 'ollama (/api/chat)',
    schemaSent: (b) => b.format,
    dialect: 'ollama',
    deployment: (fake) => deploymentFor(fake),
    model: 'llama3.2',
    reply: REPLY,
    settings: {},
    args: { city: 'sample' },
    path: /^\/api\/chat$/,
    toolResult: (body, output) => {
      const messages = body.messages as Json[];
      expect(messages.at(-2)).toMatchObject({ role: 'assistant', tool_calls: [{ function: { name: 'get_weather', arguments: expect.any(Object) } }] });
      expect(messages.at(-1)).toMatchObject({ role: 'tool', content: output });
    },
  },
  {
    name: 'bedrock (Converse)',
    schemaSent: (b) => JSON.parse(b.outputConfig.textFormat.structure.jsonSchema.schema),
    dialect: 'bedrock',
    deployment: (fake) => ({ provider: 'bedrock', baseUrl: fake.baseUrl, aws: { region: 'us-east-1', accessKeyId: '${env:AWS_ACCESS_KEY_ID}', secretAccessKey: '${env:AWS_SECRET_ACCESS_KEY}' } }),
    model: 'us.anthropic.claude-3-5-haiku-20241022-v1:0',
    // The Bedrock fake's tool input is its reply when that is a JSON object; after the tool result it answers that text.
    reply: '{"city":"Lyon"}',
    settings: {},
    args: { city: 'Lyon' },
    path: /^\/model\/.+\/(converse|converse-stream)$/,
    toolResult: (body, output) => {
      const messages = body.messages as Json[];
      const use = (messages.at(-2)!.content as Json[]).find((b) => b.toolUse !== undefined)!.toolUse;
      expect(use).toMatchObject({ name: 'get_weather' });
      expect(messages.at(-1)).toMatchObject({ role: 'user', content: [{ toolResult: { toolUseId: use.toolUseId, content: [{ text: output }] } }] });
    },
  },
];

/** A gateway in front of one fake; the alias is `weather`. */
async function start(c: Pick<Case, 'dialect' | 'deployment' | 'model' | 'reply'>): Promise<Harness> {
  const keyed = c.dialect === 'anthropic' || c.dialect === 'gemini' || c.dialect === 'bedrock';
  const h = await startHarness({
    fakes: [{ dialect: c.dialect, behaviour: { reply: c.reply, chunks: 3 }, ...(keyed ? { apiKey: SECRET } : {}) }],
    env: { PROVIDER_KEY: SECRET, AWS_ACCESS_KEY_ID: FAKE_AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: SECRET },
    config: ([fake]) => ({
      deployments: { d: c.deployment(fake!) },
      models: { weather: { targets: [{ deployment: 'd', model: c.model, defaultMaxTokens: 256 }] } },
    }),
  });
  open.push(h);
  return h;
}

interface SentRequest {
  readonly url: string;
  readonly body: Json;
  status?: number;
}

/** A Runner whose model provider is an `openai` client pointed at the gateway; `sent` records what the SDK sent. */
function agentsRunner(h: Harness): { runner: Runner; sent: SentRequest[] } {
  const sent: SentRequest[] = [];
  const client = new OpenAI({
    baseURL: `${h.url}/v1`,
    apiKey: KEY,
    maxRetries: 0,
    timeout: 15_000,
    fetch: async (input, init) => {
      const record: SentRequest = { url: String(input), body: typeof init?.body === 'string' ? (JSON.parse(init.body) as Json) : {} };
      sent.push(record);
      const res = await fetch(input, init);
      record.status = res.status;
      return res;
    },
  });
  const runner = new Runner({ modelProvider: new OpenAIProvider({ openAIClient: client, useResponses: true }), tracingDisabled: true });
  return { runner, sent };
}

/** The weather agent; `calls` records the arguments our tool was called with. */
function weatherAgent(settings: ModelSettings): { agent: Agent; calls: Array<z.infer<typeof weatherSchema>>; output: (city: string) => string } {
  const calls: Array<z.infer<typeof weatherSchema>> = [];
  const output = (city: string): string => `Sunny and 21 °C in ${city}.`;
  const getWeather = tool({
    name: 'get_weather',
    description: 'The current weather in a city',
    parameters: weatherSchema,
    execute: async (args) => {
      calls.push(args);
      return output(args.city);
    },
  });
  const agent = new Agent({ name: 'Weather agent', instructions: 'Answer with the weather tool.', model: 'weather', tools: [getWeather], modelSettings: settings });
  return { agent, calls, output };
}

/** Reads a streamed run's text stream to its end; the text. */
async function drain(stream: AsyncIterable<string>): Promise<string> {
  let text = '';
  for await (const piece of stream) text += piece;
  return text;
}

/** The model calls that reached the fake. */
function modelCalls(fake: FakeUpstream, path: RegExp): ReceivedRequest[] {
  return fake.received.filter((r) => r.method === 'POST' && path.test(r.path));
}

/** What every run checks: two Responses requests the gateway accepted, the first with `include: []`, the second carrying the call and its output. */
function expectSdkRequests(sent: readonly SentRequest[], stream: boolean, output: string): void {
  expect(sent.map((s) => [new URL(s.url).pathname, s.status])).toEqual([
    ['/v1/responses', 200],
    ['/v1/responses', 200],
  ]);
  for (const s of sent) expect(s.body).toMatchObject({ model: 'weather', include: [], stream });
  const input = sent[1]!.body.input as Json[];
  const call = input.find((i) => i.type === 'function_call')!;
  expect(call).toMatchObject({ name: 'get_weather' });
  expect(input.at(-1)).toMatchObject({ type: 'function_call_output', call_id: call.call_id });
  expect(JSON.stringify(input.at(-1)!.output)).toContain(JSON.stringify(output).slice(1, -1));
}

/** A gateway for the case, its fake primed to call the weather tool (streamed or not), and the SDK's runner and weather agent. */
async function weatherRun(c: Case, stream: boolean): Promise<{ fake: FakeUpstream } & ReturnType<typeof agentsRunner> & ReturnType<typeof weatherAgent>> {
  const h = await start(c);
  const fake = h.fakes[0]!;
  c.prime?.(fake, stream);
  return { fake, ...agentsRunner(h), ...weatherAgent(c.settings) };
}

/** A tool run's two model calls: as the SDK sent them (expectSdkRequests), and upstream, the second carrying the tool's output in the provider's terms. */
function expectToolRoundTrip(c: Case, run: { fake: FakeUpstream; sent: readonly SentRequest[]; output: (city: string) => string }, stream: boolean): void {
  expectSdkRequests(run.sent, stream, run.output(c.args.city));
  const upstream = modelCalls(run.fake, c.path);
  expect(upstream).toHaveLength(2);
  c.toolResult(upstream[1]!.body as Json, run.output(c.args.city));
}

describe.each(CASES)('@openai/agents through /v1/responses: $name', (c) => {
  it('an agent with a function tool, run to completion', async () => {
    const run = await weatherRun(c, false);
    const { runner, agent, calls } = run;

    const result = await runner.run(agent, 'What is the weather in Paris?');

    expect(calls).toEqual([c.args]);
    expect(result.finalOutput).toBe(c.reply);
    expect(result.newItems.map((i) => i.type)).toEqual(['tool_call_item', 'tool_call_output_item', 'message_output_item']);
    // The SDK adds up the usage of both calls from our Response objects.
    const usage = result.runContext.usage;
    expect(usage.requests).toBe(2);
    expect(usage.inputTokens).toBeGreaterThan(0);
    expect(usage.outputTokens).toBeGreaterThan(0);
    expect(usage.totalTokens).toBe(usage.inputTokens + usage.outputTokens);
    expectToolRoundTrip(c, run, false);
  });

  it('the same agent streamed: text deltas, tool events, result.completed, the final output', async () => {
    const run = await weatherRun(c, true);
    const { runner, agent, calls } = run;

    const result = await runner.run(agent, 'What is the weather in Paris?', { stream: true });
    const events: string[] = [];
    let text = '';
    for await (const event of result) {
      if (event.type === 'run_item_stream_event') events.push(event.name);
      if (event.type === 'raw_model_stream_event' && event.data.type === 'output_text_delta') text += event.data.delta;
    }
    await result.completed;

    expect(result.error).toBeNull();
    expect(calls).toEqual([c.args]);
    expect(events).toEqual(['tool_called', 'tool_output', 'message_output_created']);
    expect(text).toBe(c.reply);
    expect(result.finalOutput).toBe(c.reply);
    // Usage reaches the SDK through response.completed in each stream.
    expect(result.runContext.usage).toMatchObject({ requests: 2, inputTokens: expect.any(Number), outputTokens: expect.any(Number) });
    expect(result.runContext.usage.outputTokens).toBeGreaterThan(0);
    expectToolRoundTrip(c, run, true);
  });

  it('the run continued with previousResponseId: the SDK sends only the new items, the gateway adds the stored conversation', async () => {
    const { fake, runner, sent, agent, calls, output } = await weatherRun(c, false);

    const result = await runner.run(agent, 'What is the weather in Paris?');
    expect(result.finalOutput).toBe(c.reply);
    const first = result.lastResponseId;
    expect(first).toMatch(/^resp_/);
    const before = { sent: sent.length, upstream: modelCalls(fake, c.path).length };
    // The same agent (Bedrock wants the tool definitions whenever the history holds tool calls).
    const next = await runner.run(agent, 'And tomorrow?', { previousResponseId: first! });
    expect(next.finalOutput).toBe(c.reply);
    expect(calls.length).toBeGreaterThanOrEqual(1);

    // The SDK sent the new turn alone, pointing at the stored one.
    expect(sent[before.sent]!.body).toMatchObject({ previous_response_id: first, input: [{ role: 'user', content: 'And tomorrow?' }] });
    expect(sent.slice(before.sent).map((s) => s.status).every((s) => s === 200)).toBe(true);
    // The upstream saw the whole conversation: the first question, the tool result, the new question.
    const upstream = JSON.stringify(modelCalls(fake, c.path)[before.upstream]!.body);
    for (const piece of ['What is the weather in Paris?', output(c.args.city), 'And tomorrow?']) expect(upstream).toContain(JSON.stringify(piece).slice(1, -1));
  });

  it('structured output: a zod outputType comes back parsed; the schema reached the upstream in its own terms', async () => {
    const h = await start({ ...c, reply: c.structuredReply ?? c.reply });
    const { runner, sent } = agentsRunner(h);
    const agent = new Agent({ name: 'Structured agent', instructions: 'Name a city.', model: 'weather', outputType: weatherSchema });

    const result = await runner.run(agent, 'Pick a city.');

    expect(sent[0]!.body.text).toMatchObject({ format: { type: 'json_schema', name: expect.any(String), strict: true, schema: expect.any(Object) } });
    expect(sent[0]!.status).toBe(200);
    expect(weatherSchema.parse(result.finalOutput)).toEqual(result.finalOutput);
    if (c.structuredReply !== undefined) expect(result.finalOutput).toEqual(JSON.parse(c.structuredReply));
    const upstream = modelCalls(h.fakes[0]!, c.path);
    expect(upstream).toHaveLength(1);
    expect(c.schemaSent(upstream[0]!.body as Json)).toMatchObject({ type: 'object', properties: { city: { type: 'string' } }, required: ['city'] });
  });

  it('every ModelSettings field the SDK maps to a neutral value is accepted (temperature, top_p, max_output_tokens, parallel_tool_calls, truncation, store)', async () => {
    const h = await start(c);
    c.prime?.(h.fakes[0]!, false);
    const { runner, sent } = agentsRunner(h);
    const { agent, calls } = weatherAgent({ ...c.settings, temperature: 0.5, topP: 0.9, maxTokens: 300, parallelToolCalls: true, truncation: 'disabled', store: true });

    const result = await runner.run(agent, 'What is the weather in Paris?');

    expect(calls).toEqual([c.args]);
    expect(result.finalOutput).toBe(c.reply);
    expect(sent[0]!.body).toMatchObject({ include: [], temperature: 0.5, top_p: 0.9, max_output_tokens: 300, parallel_tool_calls: true, truncation: 'disabled', store: true });
    expect(sent.map((s) => s.status)).toEqual([200, 200]);
  });
});

/** A recorded gpt-4o stream with two parallel tool calls (GetWeatherArgs for Edinburgh, get_stock_price for AAPL). */
const PARALLEL_TOOLS = 'f82268f2fefd5cfbc7eeb59c297688be2f6ca0849a6e4f17851b517310841d9b.sse';

describe('@openai/agents through /v1/responses: parallel tool calls and streamed continuations', () => {
  const vllm = CASES.find((c) => c.name.startsWith('vllm'))!;

  it('a recorded stream of two parallel calls: both tools run, both outputs go back as one assistant turn and two tool messages', async () => {
    const h = await start(vllm);
    const fake = h.fakes[0]!;
    fake.enqueue({ kind: 'replay', body: openAiStreamBytes(PARALLEL_TOOLS), contentType: 'text/event-stream', pieceBytes: 64 });
    const { runner, sent } = agentsRunner(h);
    const seen: string[] = [];
    const weather = tool({
      name: 'GetWeatherArgs',
      description: 'Weather',
      parameters: z.object({ city: z.string(), country: z.string(), units: z.enum(['c', 'f']) }),
      execute: async (a) => {
        seen.push(`weather ${a.city} ${a.country} ${a.units}`);
        return `Rain in ${a.city}.`;
      },
    });
    const stock = tool({
      name: 'get_stock_price',
      description: 'Stock price',
      parameters: z.object({ ticker: z.string(), exchange: z.string() }),
      execute: async (a) => {
        seen.push(`stock ${a.ticker} ${a.exchange}`);
        return `${a.ticker} is at 100.`;
      },
    });
    const agent = new Agent({ name: 'Two tools', instructions: 'Use the tools.', model: 'weather', tools: [weather, stock] });

    const result = await runner.run(agent, 'Weather in Edinburgh and the AAPL price?', { stream: true });
    await drain(result.toTextStream());
    await result.completed;

    expect(result.error).toBeNull();
    expect(seen.sort()).toEqual(['stock AAPL NASDAQ', 'weather Edinburgh GB c']);
    expect(result.finalOutput).toBe(REPLY);
    expect(sent.map((s) => s.status)).toEqual([200, 200]);
    const messages = (modelCalls(fake, vllm.path)[1]!.body as Json).messages as Json[];
    const assistant = messages.at(-3)!;
    expect(assistant.tool_calls.map((t: Json) => t.function.name)).toEqual(['GetWeatherArgs', 'get_stock_price']);
    expect(messages.slice(-2)).toEqual([
      { role: 'tool', tool_call_id: assistant.tool_calls[0].id, content: 'Rain in Edinburgh.' },
      { role: 'tool', tool_call_id: assistant.tool_calls[1].id, content: 'AAPL is at 100.' },
    ]);
  });

  it.each(CASES.filter((c) => ['anthropic', 'gemini', 'openai'].some((n) => c.name.startsWith(n))).map((c) => [c.name, c] as const))(
    'a streamed run continued, streamed, with previousResponseId (%s)',
    async (_name, c) => {
      const h = await start(c);
      const { runner, sent } = agentsRunner(h);
      const { agent, output } = weatherAgent(c.settings);
      const first = await runner.run(agent, 'What is the weather in Paris?', { stream: true });
      await drain(first.toTextStream());
      await first.completed;
      expect(first.lastResponseId).toMatch(/^resp_/);
      const before = { sent: sent.length, upstream: modelCalls(h.fakes[0]!, c.path).length };

      const next = await runner.run(agent, 'And tomorrow?', { stream: true, previousResponseId: first.lastResponseId! });
      await drain(next.toTextStream());
      await next.completed;

      expect(next.error).toBeNull();
      expect(next.finalOutput).toBe(c.reply);
      expect(sent[before.sent]!.body).toMatchObject({ previous_response_id: first.lastResponseId, stream: true });
      const upstream = JSON.stringify(modelCalls(h.fakes[0]!, c.path)[before.upstream]!.body);
      for (const piece of ['What is the weather in Paris?', output(c.args.city), c.reply, 'And tomorrow?']) expect(upstream).toContain(JSON.stringify(piece).slice(1, -1));
    },
  );
});

describe('@openai/agents through /v1/responses: triton (no tools)', () => {
  const triton: Pick<Case, 'dialect' | 'deployment' | 'model' | 'reply'> = {
    dialect: 'triton',
    deployment: (fake) => deploymentFor(fake),
    model: 'served-model',
    reply: REPLY,
  };

  it.each([false, true])('the run fails (stream: %s) with the SDK surfacing our 400 naming tools; nothing reaches Triton', async (stream) => {
    const h = await start(triton);
    const { runner, sent } = agentsRunner(h);
    const { agent, calls } = weatherAgent({});
    const failure = await (async () => {
      const result = await runner.run(agent, 'What is the weather in Paris?', { stream: stream as true });
      if (stream) {
        for await (const _ of (result as unknown as AsyncIterable<unknown>)) void _;
        await (result as unknown as { completed: Promise<void> }).completed;
      }
    })().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(BadRequestError);
    const error = failure as BadRequestError;
    expect(error.status).toBe(400);
    expect(error.param).toBe('tools');
    expect(error.code).toBe('unsupported_parameter');
    expect(calls).toEqual([]);
    expect(sent).toHaveLength(1);
    expect(h.fakes[0]!.received.filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it('structured output fails the same way, the 400 naming text.format', async () => {
    const h = await start(triton);
    const { runner } = agentsRunner(h);
    const agent = new Agent({ name: 'Structured agent', instructions: 'Name a city.', model: 'weather', outputType: weatherSchema });
    const failure = await runner.run(agent, 'Pick a city.').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(BadRequestError);
    expect(failure).toMatchObject({ status: 400, param: 'text.format', code: 'unsupported_parameter' });
    expect(h.fakes[0]!.received.filter((r) => r.method === 'POST')).toHaveLength(0);
  });

  it('the same agent without tools is served by Triton', async () => {
    const h = await start(triton);
    const { runner } = agentsRunner(h);
    const agent = new Agent({ name: 'Plain agent', instructions: 'Be brief.', model: 'weather' });
    const result = await runner.run(agent, 'Hello');
    expect(result.finalOutput).toBe(REPLY);
  });
});
