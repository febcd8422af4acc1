/**
 * Cost conformance (issue 12): recorded usage of each provider, replayed by the fake upstreams
 * through the real gateway over sockets, must come back to the client as the exact cost: in
 * `x-gateway-cost-usd` on JSON replies, in `usage.cost_usd` of a stream's final usage chunk
 * (`message_delta` on /v1/messages). The expected cost is computed here independently, straight
 * from the token fields of each recording and the catalogue's published $/M strings, in exact
 * integers. The table of results is published in docs/costs.md; this suite fails when the table
 * there differs from what it computes. Regenerate it with:
 *
 *   UPDATE_COST_DOCS=1 npx vitest run test/cost-conformance.test.ts
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProviderName } from '../src/providers/registry.js';
import { catalogEntry } from '../src/spend/catalog.js';
import type { CatalogPrice } from '../src/spend/catalog-data.js';
import { formatUsd, usdToPico } from '../src/spend/money.js';
import { concatFrames, frameFromDecodedLine } from '../src/testing/fake-upstream/bedrock-frames.js';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, deploymentFor, startHarness, type Harness, type HttpResult } from './helpers/harness.js';
import { openAiStreamNames, sseJsonChunks } from './helpers/recorded.js';

type Dialect = 'openai' | 'anthropic' | 'gemini' | 'bedrock';
type Surface = 'chat' | 'completions' | 'embeddings' | 'messages';

/** Token counts read straight from a recording, split the way vendors bill them. */
interface RawUsage {
  /** Prompt tokens billed at the plain input rate (no cache involved). */
  readonly input: number;
  readonly cached: number;
  readonly cacheWrite: number;
  /** Every output token, reasoning/thinking included (billed at the output rate). */
  readonly output: number;
  readonly reasoning: number;
}

interface Case {
  readonly file: string;
  readonly dialect: Dialect;
  readonly surface: Surface;
  readonly stream: boolean;
  /** The catalogue entry the target is priced with (its vendor's real base URL). */
  readonly pricedAs: { readonly provider: ProviderName; readonly baseUrl: string; readonly model: string };
  readonly body: Buffer;
  readonly contentType: string;
  readonly raw: RawUsage;
}

const root = new URL('../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, root), 'utf8');
const lines = (path: string): string[] => read(path).split('\n').filter((l) => l.trim() !== '');
const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

const vendor = {
  openai: { provider: 'openai', baseUrl: 'https://api.openai.com/v1' },
  anthropic: { provider: 'anthropic', baseUrl: 'https://api.anthropic.com' },
  gemini: { provider: 'gemini', baseUrl: 'https://generativelanguage.googleapis.com/v1beta' },
  bedrock: { provider: 'bedrock', baseUrl: 'https://bedrock-runtime.us-east-1.amazonaws.com' },
} as const;

// --- what each vendor's recording says was used ----------------------------------------------

function openAiRaw(u: Record<string, any>): RawUsage {
  const cached = num(u.prompt_tokens_details?.cached_tokens);
  return { input: u.prompt_tokens - cached, cached, cacheWrite: 0, output: u.completion_tokens, reasoning: num(u.completion_tokens_details?.reasoning_tokens) };
}
function anthropicRaw(u: Record<string, any>): RawUsage {
  return { input: num(u.input_tokens), cached: num(u.cache_read_input_tokens), cacheWrite: num(u.cache_creation_input_tokens), output: num(u.output_tokens), reasoning: 0 };
}
function geminiRaw(u: Record<string, any>): RawUsage {
  const cached = num(u.cachedContentTokenCount);
  const thoughts = num(u.thoughtsTokenCount);
  return { input: num(u.promptTokenCount) - cached, cached, cacheWrite: 0, output: num(u.candidatesTokenCount) + thoughts, reasoning: thoughts };
}
function bedrockRaw(u: Record<string, any>): RawUsage {
  return { input: num(u.inputTokens), cached: num(u.cacheReadInputTokens), cacheWrite: num(u.cacheWriteInputTokens), output: num(u.outputTokens), reasoning: 0 };
}

// --- the cases ----------------------------------------------------------------------------------

function openAiSse(path: string, model: string, surface: Surface = 'chat'): Case {
  const text = read(path);
  const usage = sseJsonChunks(text).filter((c) => c.usage).at(-1)!.usage;
  return { file: path, dialect: 'openai', surface, stream: true, pricedAs: { ...vendor.openai, model }, body: Buffer.from(text), contentType: 'text/event-stream', raw: openAiRaw(usage) };
}
function openAiChunksTxt(path: string, model: string, surface: Surface): Case {
  const payloads = lines(path);
  const usage = payloads.map((l) => JSON.parse(l)).filter((c) => c.usage).at(-1)!.usage;
  const body = Buffer.from(`${payloads.map((l) => `data: ${l}\n\n`).join('')}data: [DONE]\n\n`);
  return { file: path, dialect: 'openai', surface, stream: true, pricedAs: { ...vendor.openai, model }, body, contentType: 'text/event-stream', raw: openAiRaw(usage) };
}
function openAiJson(path: string, model: string, surface: Surface): Case {
  const text = read(path);
  const usage = JSON.parse(text).usage;
  // Embeddings report no completion tokens.
  const raw = openAiRaw({ completion_tokens: 0, ...usage });
  return { file: path, dialect: 'openai', surface, stream: false, pricedAs: { ...vendor.openai, model }, body: Buffer.from(text), contentType: 'application/json', raw };
}
function anthropicJson(path: string, surface: Surface = 'chat'): Case {
  const text = read(path);
  const msg = JSON.parse(text);
  return { file: path, dialect: 'anthropic', surface, stream: false, pricedAs: { ...vendor.anthropic, model: msg.model }, body: Buffer.from(text), contentType: 'application/json', raw: anthropicRaw(msg.usage) };
}
function anthropicChunks(path: string, surface: Surface = 'chat'): Case {
  const events = lines(path).map((l) => JSON.parse(l));
  const start = events.find((e) => e.type === 'message_start').message;
  // message_delta's counts are cumulative and win over message_start's.
  const usage = events.filter((e) => e.type === 'message_delta').reduce((u, e) => ({ ...u, ...e.usage }), start.usage);
  const body = Buffer.from(lines(path).map((l) => `event: ${JSON.parse(l).type}\ndata: ${l}\n\n`).join(''));
  return { file: path, dialect: 'anthropic', surface, stream: true, pricedAs: { ...vendor.anthropic, model: start.model }, body, contentType: 'text/event-stream', raw: anthropicRaw(usage) };
}
function geminiJson(path: string, model: string): Case {
  const text = read(path);
  return { file: path, dialect: 'gemini', surface: 'chat', stream: false, pricedAs: { ...vendor.gemini, model }, body: Buffer.from(text), contentType: 'application/json', raw: geminiRaw(JSON.parse(text).usageMetadata) };
}
function geminiChunks(path: string, model: string): Case {
  const payloads = lines(path);
  const usage = payloads.map((l) => JSON.parse(l)).filter((c) => c.usageMetadata).at(-1)!.usageMetadata;
  const body = Buffer.from(payloads.map((l) => `data: ${l}\r\n\r\n`).join(''));
  return { file: path, dialect: 'gemini', surface: 'chat', stream: true, pricedAs: { ...vendor.gemini, model }, body, contentType: 'text/event-stream', raw: geminiRaw(usage) };
}
function bedrockJson(path: string, model: string): Case {
  const text = read(path);
  return { file: path, dialect: 'bedrock', surface: 'chat', stream: false, pricedAs: { ...vendor.bedrock, model }, body: Buffer.from(text), contentType: 'application/json', raw: bedrockRaw(JSON.parse(text).usage) };
}
function bedrockChunks(path: string, model: string): Case {
  const payloads = lines(path);
  const usage = payloads.map((l) => JSON.parse(l)).find((e) => e.metadata).metadata.usage;
  const body = Buffer.from(concatFrames(payloads.map(frameFromDecodedLine)));
  return { file: path, dialect: 'bedrock', surface: 'chat', stream: true, pricedAs: { ...vendor.bedrock, model }, body, contentType: 'application/vnd.amazon.eventstream', raw: bedrockRaw(usage) };
}

const anthropicFixtures = 'src/providers/anthropic/fixtures/';
const bedrockFixtures = 'src/providers/bedrock/fixtures/';
const geminiFixtures = 'test/fixtures/gemini/recorded/';
const own = 'test/fixtures/costs/';
// Bedrock recordings name no model; Gemini's are gemini-3-pro-preview, which has no confirmed
// price: their usage is priced with these catalogue models (the table says so).
const bedrockModel = 'global.anthropic.claude-sonnet-4-5-20250929-v1:0';
const geminiModel = 'gemini-2.5-flash';

const cases: Case[] = [
  ...openAiStreamNames().map((n) => openAiSse(`test/fixtures/openai-chat-streams/${n}`, 'gpt-4o-2024-08-06')),
  openAiJson('test/fixtures/vercel-ai/openai-text.json', 'gpt-4.1-nano-2025-04-14', 'chat'),
  openAiChunksTxt('test/fixtures/vercel-ai/openai-text.chunks.txt', 'gpt-4.1-nano-2025-04-14', 'chat'),
  openAiJson('test/fixtures/vercel-ai/openai-completion-text.json', 'gpt-3.5-turbo-instruct', 'completions'),
  openAiChunksTxt('test/fixtures/vercel-ai/openai-completion-text.chunks.txt', 'gpt-3.5-turbo-instruct', 'completions'),
  openAiJson('test/fixtures/vercel-ai/openai-embedding.json', 'text-embedding-3-small', 'embeddings'),
  openAiJson(`${own}openai-o4-mini-cached-reasoning.json`, 'o4-mini-2025-04-16', 'chat'),
  openAiSse(`${own}openai-gpt-4.1-mini-cached.sse`, 'gpt-4.1-mini-2025-04-14'),
  openAiSse(`${own}openai-gpt-4.1-mini-cached.sse`, 'gpt-4.1-mini-2025-04-14', 'messages'),
  ...['anthropic-text', 'anthropic-json-tool.1', 'anthropic-tool-no-args', 'anthropic-refusal', 'anthropic-clear-thinking.1'].flatMap((n) => [anthropicJson(`${anthropicFixtures}${n}.json`), anthropicChunks(`${anthropicFixtures}${n}.chunks.txt`)]),
  anthropicChunks(`${anthropicFixtures}anthropic-message-delta-input-tokens.chunks.txt`),
  anthropicJson(`${anthropicFixtures}anthropic-text.json`, 'messages'),
  anthropicJson(`${own}anthropic-cache-write.json`),
  anthropicJson(`${own}anthropic-cache-write.json`, 'messages'),
  anthropicChunks(`${own}anthropic-cache-read.chunks.txt`),
  anthropicChunks(`${own}anthropic-cache-read.chunks.txt`, 'messages'),
  ...['google-text', 'google-reasoning', 'google-tool-call'].flatMap((n) => [geminiJson(`${geminiFixtures}${n}.json`, geminiModel), geminiChunks(`${geminiFixtures}${n}.chunks.txt`, geminiModel)]),
  geminiJson(`${own}gemini-cached-thinking.json`, geminiModel),
  ...['amazon-bedrock-text', 'amazon-bedrock-reasoning', 'amazon-bedrock-tool-call.1', 'amazon-bedrock-tool-no-args'].flatMap((n) => [bedrockJson(`${bedrockFixtures}${n}.json`, bedrockModel), bedrockChunks(`${bedrockFixtures}${n}.chunks.txt`, bedrockModel)]),
  bedrockJson(`${own}bedrock-cache.json`, bedrockModel),
  bedrockChunks(`${own}bedrock-cache.chunks.txt`, bedrockModel),
  bedrockJson(`${own}bedrock-cache.json`, 'us.anthropic.claude-sonnet-4-5-20250929-v1:0'),
];

/** The cost a recording's usage should come to, from the published $/M strings, in exact picodollars. */
function expectedPico(raw: RawUsage, p: CatalogPrice): bigint {
  const at = (tokens: number, usdPerMillion: string): bigint => (BigInt(tokens) * usdToPico(usdPerMillion)) / 1_000_000n;
  return at(raw.input, p.input) + at(raw.cached, p.cachedInput ?? p.input) + at(raw.cacheWrite, p.cacheWrite ?? p.input) + at(raw.output - raw.reasoning, p.output) + at(raw.reasoning, p.reasoning ?? p.output);
}

// --- the gateway --------------------------------------------------------------------------------

const ANTHROPIC_KEY = 'sk-ant-cost-conformance';
const GEMINI_KEY = 'gemini-cost-conformance';
const AWS_SECRET = 'aws-secret-cost-conformance';
const dialects: Dialect[] = ['openai', 'anthropic', 'gemini', 'bedrock'];
const alias = (i: number): string => `case-${i}`;
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    fakes: [{ dialect: 'openai' }, { dialect: 'anthropic', apiKey: ANTHROPIC_KEY }, { dialect: 'gemini', apiKey: GEMINI_KEY }, { dialect: 'bedrock', apiKey: AWS_SECRET }],
    env: { ANTHROPIC_KEY, GEMINI_KEY, AWS_ACCESS_KEY_ID: 'AKIDCOSTCONFORMANCE1', AWS_SECRET },
    config: (fakes) => ({
      deployments: {
        openai: deploymentFor(fakes[0] as FakeUpstream),
        anthropic: deploymentFor(fakes[1] as FakeUpstream, { apiKey: '${env:ANTHROPIC_KEY}' }),
        gemini: deploymentFor(fakes[2] as FakeUpstream, { apiKey: '${env:GEMINI_KEY}' }),
        bedrock: { provider: 'bedrock', baseUrl: (fakes[3] as FakeUpstream).baseUrl, aws: { region: 'us-east-1', accessKeyId: '${env:AWS_ACCESS_KEY_ID}', secretAccessKey: '${env:AWS_SECRET}' } },
      },
      // The fakes listen on 127.0.0.1, which is no vendor's host: each target carries the
      // catalogue's price for the model it stands for, as an operator's override would.
      models: Object.fromEntries(
        cases.map((c, i) => {
          const entry = catalogEntry(c.pricedAs.provider, c.pricedAs.baseUrl, c.pricedAs.model);
          return [alias(i), { targets: [{ deployment: c.dialect, model: c.pricedAs.model, ...(entry ? { price: entry.pricePerMillion } : {}) }] }];
        }),
      ),
    }),
  });
});
afterAll(() => h?.close());

/** What the client is told the request cost: the header, or the final usage chunk's field. */
interface Told {
  readonly cost: string | undefined;
  readonly estimated: boolean;
}

async function send(c: Case, i: number): Promise<Told> {
  h.fakes[dialects.indexOf(c.dialect)]!.enqueue({ kind: 'replay', body: c.body, contentType: c.contentType });
  const model = alias(i);
  const messages = [{ role: 'user', content: 'Replay the recording.' }];
  let res: HttpResult;
  if (c.surface === 'chat') res = await chat(h.url, { model, messages, max_tokens: 1024, stream: c.stream, ...(c.stream ? { stream_options: { include_usage: true } } : {}) });
  else if (c.surface === 'completions') res = await chat(h.url, { model, prompt: 'Say this is a test', max_tokens: 64, stream: c.stream, ...(c.stream ? { stream_options: { include_usage: true } } : {}) }, { path: '/v1/completions' });
  else if (c.surface === 'embeddings') res = await chat(h.url, { model, input: 'The food was delicious.' }, { path: '/v1/embeddings' });
  else res = await chat(h.url, { model, max_tokens: 1024, messages, stream: c.stream }, { path: '/v1/messages' });
  expect(res.status, res.text).toBe(200);
  if (!c.stream) return { cost: res.headers['x-gateway-cost-usd'], estimated: res.headers['x-gateway-cost-estimated'] === 'true' };
  expect(res.headers['x-gateway-cost-usd']).toBeUndefined();
  const events = res.events().filter((e) => e !== '[DONE]').map((e) => JSON.parse(e) as Record<string, any>);
  const final = c.surface === 'messages' ? events.filter((e) => e.type === 'message_delta') : events.filter((e) => Array.isArray(e.choices) && e.choices.length === 0 && e.usage);
  expect(final).toHaveLength(1);
  // The cost rides only in the final usage chunk, never in another one.
  expect(events.filter((e) => e.usage?.cost_usd !== undefined).length).toBeLessThanOrEqual(1);
  return { cost: final[0]!.usage.cost_usd, estimated: final[0]!.usage.cost_estimated === true };
}

const results: Array<{ c: Case; told: Told }> = [];

describe('cost conformance: recorded usage → the exact cost the client is told', () => {
  it.each(cases.map((c, i) => [`${c.file} (${c.surface}${c.stream ? ', stream' : ''}) priced as ${c.pricedAs.model}`, c, i] as const))('%s', async (_name, c, i) => {
    const told = await send(c, i);
    const entry = catalogEntry(c.pricedAs.provider, c.pricedAs.baseUrl, c.pricedAs.model);
    if (entry) expect(told).toEqual({ cost: formatUsd(expectedPico(c.raw, entry.pricePerMillion)), estimated: false });
    // No catalogue price: nothing is made up, and the client is told nothing.
    else expect(told).toEqual({ cost: undefined, estimated: false });
    results[i] = { c, told };
  });

  it('the table in docs/costs.md is the one this suite computes', () => {
    expect(results.filter(Boolean)).toHaveLength(cases.length);
    const table = costTable(results);
    const docs = read('docs/costs.md');
    const start = docs.indexOf(tableStart);
    const end = docs.indexOf(tableEnd);
    expect(start, 'docs/costs.md has the cost-conformance markers').toBeGreaterThanOrEqual(0);
    const current = docs.slice(start + tableStart.length, end);
    if (process.env.UPDATE_COST_DOCS === '1') {
      writeFileSync(new URL('docs/costs.md', root), `${docs.slice(0, start + tableStart.length)}${table}${docs.slice(end)}`);
      return;
    }
    expect(current, 'docs/costs.md is out of date: UPDATE_COST_DOCS=1 npx vitest run test/cost-conformance.test.ts').toBe(table);
  });
});

const tableStart = '<!-- cost-conformance:start -->';
const tableEnd = '<!-- cost-conformance:end -->';

function costTable(rows: ReadonlyArray<{ c: Case; told: Told }>): string {
  const out = [
    '',
    '| recording | surface | priced as | input | cached | cache write | output (reasoning) | cost_usd |',
    '|---|---|---|---:|---:|---:|---:|---:|',
  ];
  for (const { c, told } of rows) {
    const r = c.raw;
    const surface = `${c.surface}${c.stream ? ' stream' : ''}`;
    const output = r.reasoning > 0 ? `${r.output} (${r.reasoning})` : String(r.output);
    out.push(`| \`${c.file.replace(/^.*\//, '')}\` | ${surface} | ${c.pricedAs.provider} \`${c.pricedAs.model}\` | ${r.input} | ${r.cached} | ${r.cacheWrite} | ${output} | ${told.cost ?? 'null (unpriced)'} |`);
  }
  return `${out.join('\n')}\n`;
}
