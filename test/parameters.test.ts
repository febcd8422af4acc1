/**
 * Every OpenAI parameter that changes what an answer means is either translated for the
 * provider (the test shows the upstream received it) or refused with a 400 naming it: never
 * silently dropped. What reaches an OpenAI-protocol upstream is checked against the official
 * OpenAI request schema.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { providerNames } from '../src/config/schema.js';
import { openAiChatParameters, type OpenAiChatParameter, type ParameterRule } from '../src/providers/parameter-policy.js';
import { adapterFor, type ProviderName } from '../src/providers/registry.js';
import { FAKE_AWS_ACCESS_KEY_ID } from '../src/testing/fake-upstream/bedrock-dialect.js';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import type { Harness, HttpResult } from './helpers/harness.js';
import { chat, chatBody, deploymentFor, startHarness } from './helpers/harness.js';
import { specErrors, specProperties } from './helpers/openai-spec.js';
import { OPENAI_PROTOCOL, providerHarness, SERVED_MODEL, upstreamChatPath, type Provider } from './helpers/providers.js';

// One gateway per provider for the whole file: each case only reads what its own request did.
const harnesses = new Map<Provider, Promise<Harness>>();
afterAll(async () => {
  await Promise.all([...harnesses.values()].map(async (h) => (await h).close()));
});

function start(provider: Provider): Promise<Harness> {
  let h = harnesses.get(provider);
  if (h === undefined) {
    h = providerHarness(provider, { reply: 'ok' });
    harnesses.set(provider, h);
  }
  return h;
}

const weatherTool = {
  type: 'function',
  function: { name: 'get_weather', description: 'Weather for a city', parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'], additionalProperties: false }, strict: true },
};
const imageMessage = {
  role: 'user',
  content: [
    { type: 'text', text: 'What is in this picture?' },
    { type: 'image_url', image_url: { url: 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==', detail: 'low' } },
  ],
};

/** The parameter cases, with what a Triton deployment does with each. */
const cases: Array<{ name: string; extra: Record<string, unknown>; triton: { refused: string } | { sent: Record<string, unknown> } }> = [
  { name: 'tools', extra: { tools: [weatherTool], tool_choice: 'auto', parallel_tool_calls: false }, triton: { refused: 'tools' } },
  { name: 'tool_choice alone', extra: { tool_choice: 'none' }, triton: { refused: 'tool_choice' } },
  {
    name: 'response_format json_schema',
    extra: { response_format: { type: 'json_schema', json_schema: { name: 'answer', strict: true, schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'], additionalProperties: false } } } },
    triton: { refused: 'response_format' },
  },
  { name: 'response_format json_object', extra: { response_format: { type: 'json_object' } }, triton: { refused: 'response_format' } },
  { name: 'image in content', extra: { messages: [imageMessage] }, triton: { refused: 'messages[0].content[1]' } },
  { name: 'n', extra: { n: 2 }, triton: { refused: 'n' } },
  { name: 'stop (array)', extra: { stop: ['\n\n', 'END'] }, triton: { sent: { stop_words: ['\n\n', 'END'] } } },
  { name: 'stop (string)', extra: { stop: 'END' }, triton: { sent: { stop_words: ['END'] } } },
  { name: 'seed', extra: { seed: 42 }, triton: { sent: { seed: 42 } } },
  { name: 'logprobs + top_logprobs', extra: { logprobs: true, top_logprobs: 3 }, triton: { refused: 'logprobs' } },
  { name: 'top_logprobs alone', extra: { top_logprobs: 3 }, triton: { refused: 'top_logprobs' } },
  { name: 'logit_bias', extra: { logit_bias: { '50256': -100 } }, triton: { refused: 'logit_bias' } },
  { name: 'web_search_options', extra: { web_search_options: {} }, triton: { refused: 'web_search_options' } },
  { name: 'reasoning_effort', extra: { reasoning_effort: 'low' }, triton: { refused: 'reasoning_effort' } },
  {
    name: 'sampling and length',
    extra: { temperature: 0.2, top_p: 0.9, presence_penalty: 0.5, frequency_penalty: 0.25, max_completion_tokens: 50 },
    triton: { sent: { temperature: 0.2, top_p: 0.9, presence_penalty: 0.5, frequency_penalty: 0.25, max_tokens: 50 } },
  },
];

describe.each(OPENAI_PROTOCOL)('%s deployment: parameters are passed through', (provider) => {
  it.each(cases)('$name reaches the upstream unchanged, in a body valid against CreateChatCompletionRequest', async ({ extra }) => {
    const h = await start(provider);
    for (const stream of [false, true]) {
      const res = await chat(h.url, chatBody('chat', { ...extra, ...(stream ? { stream: true } : {}) }));
      expect(res.status).toBe(200);
      const sent = h.fakes[0]!.received.at(-1)!;
      expect(sent.path).toBe(upstreamChatPath(provider));
      const body = sent.body as Record<string, unknown>;
      expect(body).toMatchObject({ ...extra, model: SERVED_MODEL });
      if (stream) expect(body.stream_options).toEqual({ include_usage: true });
      expect(specErrors('CreateChatCompletionRequest', body)).toEqual([]);
    }
  });
});

describe('triton deployment: translated or refused with a 400 naming the parameter', () => {
  it.each(cases)('$name: translated for Triton or refused with a 400 naming it', async ({ extra, triton }) => {
    const h = await start('triton');
    const before = h.fakes[0]!.stats.requests;
    for (const stream of [false, true]) {
      const res = await chat(h.url, chatBody('chat', { ...extra, ...(stream ? { stream: true } : {}) }));
      if ('refused' in triton) {
        expect(res.status).toBe(400);
        expect(res.json().error).toMatchObject({ type: 'invalid_request_error', code: 'unsupported_parameter', param: triton.refused });
        expect(res.json().error.message).toMatch(/Triton/);
        expect(h.fakes[0]!.stats.requests).toBe(before);
      } else {
        expect(res.status).toBe(200);
        const sent = h.fakes[0]!.received.at(-1)!;
        expect(sent.path).toBe(upstreamChatPath('triton', stream));
        expect(sent.body).toMatchObject(triton.sent);
      }
    }
  });
});

/**
 * One policy for what a provider cannot express (issue 10 §6): each adapter declares, for every
 * parameter of OpenAI's CreateChatCompletionRequest, whether it is translated, ignored (with a
 * reason) or refused, and this walks every parameter against every provider over real sockets:
 * translated → the upstream request changes (for OpenAI's protocol: the field arrives as sent);
 * ignored → the upstream request is exactly what it is without the field, and the response names
 * it in x-gateway-ignored-params; refused → 400 unsupported_parameter naming it and the provider,
 * nothing sent.
 */
const weather = weatherTool;
/** A value for each parameter that asks for something (never OpenAI's default). */
const samples: Record<OpenAiChatParameter, Record<string, unknown>> = {
  messages: { messages: [{ role: 'user', content: 'Something else entirely.' }] },
  model: {},
  stream: { stream: true },
  stream_options: { stream: true, stream_options: { include_usage: true } },
  max_completion_tokens: { max_completion_tokens: 50 },
  max_tokens: { max_tokens: 50 },
  n: { n: 2 },
  stop: { stop: ['END'] },
  temperature: { temperature: 0.5 },
  top_p: { top_p: 0.5 },
  frequency_penalty: { frequency_penalty: 0.5 },
  presence_penalty: { presence_penalty: 0.5 },
  seed: { seed: 42 },
  logit_bias: { logit_bias: { '50256': -100 } },
  logprobs: { logprobs: true },
  top_logprobs: { top_logprobs: 2 },
  tools: { tools: [weather] },
  // The parameter under test comes first: a refusal names the first refused field.
  tool_choice: { tool_choice: 'none', tools: [weather] },
  parallel_tool_calls: { parallel_tool_calls: false },
  functions: { functions: [{ name: 'f', parameters: { type: 'object', properties: {} } }] },
  function_call: { function_call: 'none' },
  response_format: { response_format: { type: 'json_schema', json_schema: { name: 'a', schema: { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] } } } },
  reasoning_effort: { reasoning_effort: 'low' },
  verbosity: { verbosity: 'low' },
  modalities: { modalities: ['text', 'audio'] },
  audio: { audio: { voice: 'alloy', format: 'mp3' } },
  prediction: { prediction: { type: 'content', content: 'Hello' } },
  web_search_options: { web_search_options: { search_context_size: 'low' } },
  moderation: { moderation: { model: 'omni-moderation-latest' } },
  user: { user: 'user-1' },
  safety_identifier: { safety_identifier: 'user-1' },
  metadata: { metadata: { team: 'search' } },
  store: { store: true },
  service_tier: { service_tier: 'flex' },
  prompt_cache_key: { prompt_cache_key: 'k-1' },
  prompt_cache_retention: { prompt_cache_retention: '24h' },
  prompt_cache_options: { prompt_cache_options: { ttl: '1h' } },
};
/** The fields a sample sets besides the one under test (kept in the comparison baseline). */
const baselineOf = (name: OpenAiChatParameter): Record<string, unknown> => Object.fromEntries(Object.entries(samples[name]).filter(([k]) => k !== name));

const ALL_PROVIDERS = providerNames;
const GEMINI_KEY = 'AIzaFakeGeminiKey-0123456789';
const ANTHROPIC_KEY = 'sk-ant-fake-0123456789';
const BEDROCK_SECRET = 'bedrock-test-secret-0123456789abcdef';

let tableHarness: Promise<Harness> | undefined;
function everyProvider(): Promise<Harness> {
  tableHarness ??= startHarness({
    fakes: [
      { dialect: 'openai', behaviour: { reply: 'ok' } },
      { dialect: 'triton', behaviour: { reply: 'ok' } },
      { dialect: 'gemini', apiKey: GEMINI_KEY, behaviour: { reply: 'ok' } },
      { dialect: 'ollama', behaviour: { reply: 'ok' } },
      { dialect: 'anthropic', apiKey: ANTHROPIC_KEY, behaviour: { reply: 'ok' } },
      { dialect: 'bedrock', apiKey: BEDROCK_SECRET, behaviour: { reply: 'ok' } },
    ],
    env: { GEMINI_API_KEY: GEMINI_KEY, ANTHROPIC_KEY, AWS_ACCESS_KEY_ID: FAKE_AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY: BEDROCK_SECRET },
    config: ([openai, triton, gemini, ollama, anthropic, bedrock]) => {
      const origin = openai!.baseUrl.replace(/\/v1$/, '');
      return {
        deployments: {
          openai: { provider: 'openai', baseUrl: openai!.baseUrl },
          vllm: { provider: 'vllm', baseUrl: openai!.baseUrl },
          azure: { provider: 'azure', baseUrl: `${origin}/openai`, apiVersion: '2024-10-21' },
          triton: deploymentFor(triton!),
          gemini: deploymentFor(gemini!, { apiKey: '${env:GEMINI_API_KEY}' }),
          ollama: deploymentFor(ollama!),
          anthropic: deploymentFor(anthropic!, { apiKey: '${env:ANTHROPIC_KEY}' }),
          bedrock: { provider: 'bedrock', baseUrl: bedrock!.baseUrl, aws: { region: 'us-east-1', accessKeyId: '${env:AWS_ACCESS_KEY_ID}', secretAccessKey: '${env:AWS_SECRET_ACCESS_KEY}' } },
        },
        models: Object.fromEntries(ALL_PROVIDERS.map((p) => [p, { targets: [{ deployment: p, model: SERVED_MODEL, ...(p === 'anthropic' ? { defaultMaxTokens: 256 } : {}) }] }])),
      };
    },
  });
  return tableHarness;
}
afterAll(async () => {
  await (await tableHarness)?.close();
});

function fakeOf(h: Harness, provider: ProviderName): FakeUpstream {
  const order: Record<ProviderName, number> = { openai: 0, vllm: 0, azure: 0, triton: 1, gemini: 2, ollama: 3, anthropic: 4, bedrock: 5 };
  return h.fakes[order[provider]]!;
}

/** What the upstream received for one request (undefined when nothing was sent), and the response. */
async function exchange(h: Harness, provider: ProviderName, extra: Record<string, unknown>): Promise<{ res: HttpResult; sent: { path: string; body: unknown } | undefined }> {
  const fake = fakeOf(h, provider);
  const before = fake.received.length;
  const res = await chat(h.url, chatBody(provider, extra));
  const last = fake.received.length > before ? fake.received.at(-1) : undefined;
  return { res, sent: last && { path: last.path, body: last.body } };
}

describe('one policy for parameters a provider cannot express: every OpenAI chat parameter × every provider', () => {
  it('each provider declares a rule for exactly the parameters of CreateChatCompletionRequest', () => {
    expect([...openAiChatParameters].sort()).toEqual(specProperties('CreateChatCompletionRequest').sort());
    for (const p of ALL_PROVIDERS) expect(Object.keys(adapterFor(p).chatParameters.parameters).sort(), p).toEqual([...openAiChatParameters].sort());
  });

  const table = ALL_PROVIDERS.flatMap((provider) => openAiChatParameters.map((name) => ({ provider, name, rule: adapterFor(provider).chatParameters.parameters[name] })));
  it.each(table)('$provider: $name is $rule.kind', async ({ provider, name, rule }) => {
    const h = await everyProvider();
    const policy = adapterFor(provider).chatParameters;
    const { res, sent } = await exchange(h, provider, samples[name]);
    if (rule.kind === 'refused') {
      expect(res.status, res.text).toBe(400);
      expect(res.json().error).toMatchObject({ type: 'invalid_request_error', code: 'unsupported_parameter', param: name });
      expect(res.json().error.message).toContain(policy.provider);
      expect(sent).toBeUndefined();
      return;
    }
    expect(res.status, res.text).toBe(200);
    expect(sent).toBeDefined();
    const base = await exchange(h, provider, baselineOf(name));
    expect(base.res.status, base.res.text).toBe(200);
    if (rule.kind === 'ignored') {
      expect(res.headers['x-gateway-ignored-params']?.split(', ')).toContain(name);
      expect(sent).toEqual(base.sent);
      return;
    }
    expect(res.headers['x-gateway-ignored-params']).toBeUndefined();
    if (name === 'model') return; // every provider sends the target's model; the alias never leaves the gateway
    if (policy.otherFields === 'passed-through') {
      expect((sent!.body as Record<string, unknown>)[name]).toEqual(name === 'stream_options' ? { include_usage: true } : samples[name][name]);
    } else if (name === 'stream_options') {
      // Honoured by the gateway itself: the usage chunk is ours whatever the provider streams.
      expect(res.events().some((e) => e.includes('"prompt_tokens"'))).toBe(true);
      expect(base.res.events().some((e) => e.includes('"prompt_tokens"'))).toBe(false);
    } else {
      expect(sent, 'the parameter changed what the upstream received').not.toEqual(base.sent);
    }
  });

  it('fields that are not OpenAI parameters pass through OpenAI-protocol upstreams and are refused by name elsewhere', async () => {
    const h = await everyProvider();
    for (const provider of ALL_PROVIDERS) {
      const { res, sent } = await exchange(h, provider, { repetition_penalty: 1.1 });
      if (adapterFor(provider).chatParameters.otherFields === 'passed-through') {
        expect(res.status, provider).toBe(200);
        expect((sent!.body as Record<string, unknown>).repetition_penalty).toBe(1.1);
      } else {
        expect(res.status, provider).toBe(400);
        expect(res.json().error).toMatchObject({ code: 'unsupported_parameter', param: 'repetition_penalty' });
        expect(sent).toBeUndefined();
      }
    }
  });

  it('non-OpenAI fields a provider declares as translated (top_k, which /v1/messages clients send) reach its upstream', async () => {
    const h = await everyProvider();
    const declaring = ALL_PROVIDERS.filter((p) => adapterFor(p).chatParameters.extraTranslated?.includes('top_k'));
    expect(declaring.sort()).toEqual(['anthropic', 'gemini', 'ollama', 'triton']);
    for (const provider of declaring) {
      const { res, sent } = await exchange(h, provider, { top_k: 7 });
      expect(res.status, `${provider}: ${res.text}`).toBe(200);
      const base = await exchange(h, provider, {});
      expect(sent, provider).not.toEqual(base.sent);
    }
  });

  it('neutral values (n: 1, logprobs: false, parallel_tool_calls: true, penalties 0, null) are accepted everywhere and reported nowhere', async () => {
    const h = await everyProvider();
    const neutral = { n: 1, logprobs: false, parallel_tool_calls: true, presence_penalty: 0, frequency_penalty: 0, seed: null, store: false, modalities: ['text'], service_tier: 'auto' };
    for (const provider of ALL_PROVIDERS) {
      const { res } = await exchange(h, provider, neutral);
      expect(res.status, `${provider}: ${res.text}`).toBe(200);
      expect(res.headers['x-gateway-ignored-params'], provider).toBeUndefined();
    }
  });
});

/** The columns of docs/providers.md's parameter table: providers with the same policy share one. */
const docColumns: ReadonlyArray<{ title: string; provider: ProviderName }> = [
  { title: 'openai, vllm, azure', provider: 'openai' },
  { title: 'anthropic', provider: 'anthropic' },
  { title: 'bedrock', provider: 'bedrock' },
  { title: 'gemini', provider: 'gemini' },
  { title: 'ollama', provider: 'ollama' },
  { title: 'triton', provider: 'triton' },
];

function cell(rule: ParameterRule, passThrough: boolean): string {
  if (rule.kind === 'translated') return passThrough ? 'passed through' : 'translated';
  if (rule.kind === 'ignored') return `ignored (${rule.reason})`;
  return rule.reason === undefined ? '**400**' : `**400** (${rule.reason})`;
}

/** The parameter table as docs/providers.md shows it, rendered from the adapters' policies. */
function parameterTable(): string {
  const lines = [`| parameter | ${docColumns.map((c) => c.title).join(' | ')} |`, `|---|${docColumns.map(() => '---|').join('')}`];
  for (const name of openAiChatParameters) {
    const cells = docColumns.map(({ provider }) => {
      const policy = adapterFor(provider).chatParameters;
      return cell(policy.parameters[name], policy.otherFields === 'passed-through');
    });
    lines.push(`| \`${name}\` | ${cells.join(' | ')} |`);
  }
  const other = docColumns.map(({ provider }) => {
    const policy = adapterFor(provider).chatParameters;
    if (policy.otherFields === 'passed-through') return 'passed through';
    return policy.extraTranslated === undefined ? '**400**' : `${policy.extraTranslated.map((f) => `\`${f}\``).join(', ')} translated; others **400**`;
  });
  lines.push(`| any other field | ${other.join(' | ')} |`);
  return lines.join('\n');
}

describe('docs/providers.md parameter table', () => {
  it('is the table rendered from the declared policy of each provider (UPDATE_DOCS=1 rewrites it)', () => {
    const path = new URL('../docs/providers.md', import.meta.url);
    const doc = readFileSync(path, 'utf8');
    const start = '<!-- parameter-policy:start (generated by test/parameters.test.ts) -->\n';
    const end = '\n<!-- parameter-policy:end -->';
    const from = doc.indexOf(start);
    const to = doc.indexOf(end);
    expect(from, 'docs/providers.md has the generated parameter table markers').toBeGreaterThanOrEqual(0);
    const expected = parameterTable();
    if (process.env.UPDATE_DOCS === '1') writeFileSync(path, doc.slice(0, from + start.length) + expected + doc.slice(to));
    expect(doc.slice(from + start.length, to)).toBe(expected);
  });
});
