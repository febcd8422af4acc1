/**
 * Issue 12, cost to the client and to operators, over real sockets: the JSON header and the
 * stream's usage field through the official openai SDK, a hostile upstream's absurd usage
 * charged as the (estimated) reservation, a cut stream charged by its estimate, unpriced targets
 * (warned at load, counted per request, nothing told to the client), the access log and the
 * cost metric.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { pino } from 'pino';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { parseChatRequest } from '../src/api/parse-chat.js';
import { estimateChatPromptTokens } from '../src/api/token-estimate.js';
import { formatUsd } from '../src/spend/money.js';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, KEY, metric, startHarness, waitUntil, type Harness } from './helpers/harness.js';

/** $1 per million input tokens, $2 per million output: 1,000,000 and 2,000,000 pUSD per token. */
const price = { input: 1, output: 2 };
const perToken = { input: 1_000_000, output: 2_000_000 };
const usd = (prompt: number, completion: number): string => formatUsd(prompt * perToken.input + completion * perToken.output);

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function setup(): Promise<{ h: Harness; fake: FakeUpstream; logs: Array<Record<string, any>>; client: OpenAI }> {
  const logs: Array<Record<string, any>> = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => void logs.push(JSON.parse(line)) });
  const h = await startHarness({
    fakes: [{ dialect: 'openai', behaviour: { reply: 'Hello there, integration tests.', chunks: 3 } }],
    logger,
    config: (fakes) => ({
      deployments: { fake: deploymentFor(fakes[0]!), other: deploymentFor(fakes[0]!) },
      models: {
        priced: { targets: [{ deployment: 'fake', model: 'up', price }] },
        // A vendor protocol on a host that is not the vendor's, without a price: unpriced.
        unpriced: { targets: [{ deployment: 'other', model: 'gpt-4o' }] },
      },
    }),
  });
  open.push(h);
  return { h, fake: h.fakes[0]!, logs, client: new OpenAI({ baseURL: `${h.url}/v1`, apiKey: KEY, maxRetries: 0, timeout: 10_000 }) };
}

const requestLines = (logs: Array<Record<string, any>>) => logs.filter((l) => l.msg === 'request');

describe('the cost reaches the client', () => {
  it('openai SDK, JSON: x-gateway-cost-usd is the reported usage at the target price, exactly', async () => {
    const { h, client, logs } = await setup();
    const { data, response } = await client.chat.completions.create({ model: 'priced', messages: [{ role: 'user', content: 'Hi' }] }).withResponse();
    const u = data.usage!;
    expect(response.headers.get('x-gateway-cost-usd')).toBe(usd(u.prompt_tokens, u.completion_tokens));
    expect(response.headers.get('x-gateway-cost-estimated')).toBeNull();
    await waitUntil(() => requestLines(logs).length === 1);
    expect(requestLines(logs)[0]).toMatchObject({ cost_usd: usd(u.prompt_tokens, u.completion_tokens), cost_estimated: false });
    expect(await metric(h.url, 'gateway_cost_usd_total', { model: 'priced', deployment: 'fake', team: 'main' })).toBe(Number(usd(u.prompt_tokens, u.completion_tokens)));
  });

  it('openai SDK, stream with include_usage: usage.cost_usd in the final usage chunk, and only there', async () => {
    const { client } = await setup();
    const stream = await client.chat.completions.create({ model: 'priced', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
    const chunks: OpenAI.Chat.Completions.ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const withUsage = chunks.filter((c) => c.usage);
    expect(withUsage).toHaveLength(1);
    const u = withUsage[0]!.usage as OpenAI.Completions.CompletionUsage & { cost_usd?: string; cost_estimated?: boolean };
    expect(withUsage[0]!.choices).toEqual([]);
    expect(u.cost_usd).toBe(usd(u.prompt_tokens, u.completion_tokens));
    expect(u.cost_estimated).toBeUndefined();
    expect(chunks.at(-1)).toBe(withUsage[0]);
  });

  it('a stream without include_usage tells the client nothing, and is still costed for operators', async () => {
    const { h, logs } = await setup();
    const res = await chat(h.url, chatBody('priced', { stream: true }));
    expect(res.text).not.toMatch(/cost_usd|"usage"/);
    await waitUntil(() => requestLines(logs).length === 1);
    const line = requestLines(logs)[0]!;
    expect(line.cost_usd).toBe(usd(line.promptTokens, line.completionTokens));
    expect(await metric(h.url, 'gateway_cost_usd_total', { model: 'priced', deployment: 'fake', team: 'main' })).toBe(Number(line.cost_usd));
  });
});

describe('the cost on /v1/messages, through the Anthropic SDK', () => {
  async function anthropic(): Promise<{ h: Harness; client: Anthropic }> {
    const h = await startHarness({
      fakes: [{ dialect: 'anthropic', behaviour: { reply: 'one two three', chunks: 3 } }],
      config: ([fake]) => ({ deployments: { d: deploymentFor(fake!) }, models: { claude: { targets: [{ deployment: 'd', model: 'claude-sonnet-4-5', price }] } } }),
    });
    open.push(h);
    return { h, client: new Anthropic({ baseURL: h.url, apiKey: KEY, maxRetries: 0, timeout: 10_000 }) };
  }
  const params = { model: 'claude', max_tokens: 100, messages: [{ role: 'user' as const, content: 'Count to three.' }] };

  it('JSON: x-gateway-cost-usd from the message usage', async () => {
    const { client } = await anthropic();
    const { data, response } = await client.messages.create(params).withResponse();
    expect(response.headers.get('x-gateway-cost-usd')).toBe(usd(data.usage.input_tokens, data.usage.output_tokens));
  });

  it('stream: usage.cost_usd in the message_delta event, with no opt-in', async () => {
    const { client } = await anthropic();
    const events: Array<Record<string, any>> = [];
    for await (const e of await client.messages.create({ ...params, stream: true })) events.push(e as unknown as Record<string, any>);
    const start = events.find((e) => e.type === 'message_start')!.message.usage;
    const delta = events.filter((e) => e.type === 'message_delta');
    expect(delta).toHaveLength(1);
    expect(delta[0]!.usage.cost_usd).toBe(usd(delta[0]!.usage.input_tokens ?? start.input_tokens, delta[0]!.usage.output_tokens));
    expect(events.at(-1)!.type).toBe('message_stop');
  });
});

describe('a hostile upstream', () => {
  const body = chatBody('priced', { max_tokens: 50 });
  // What the gateway reserved, hence what absurd usage is replaced by.
  const reserved = { prompt: estimateChatPromptTokens(parseChatRequest(body)), completion: 50 };
  const absurd = { prompt_tokens: 1e300, completion_tokens: 1, total_tokens: 1e300 };

  it('JSON: usage claiming 1e300 tokens is charged as the reservation, and the cost says it is estimated', async () => {
    const { h, fake, logs } = await setup();
    const completion = { id: 'c', object: 'chat.completion', created: 1, model: 'up', choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: absurd };
    fake.enqueue({ kind: 'replay', body: JSON.stringify(completion), contentType: 'application/json' });
    const res = await chat(h.url, body);
    expect(res.status).toBe(200);
    expect(res.headers['x-gateway-cost-usd']).toBe(usd(reserved.prompt, reserved.completion));
    expect(res.headers['x-gateway-cost-estimated']).toBe('true');
    await waitUntil(() => requestLines(logs).length === 1);
    expect(requestLines(logs)[0]).toMatchObject({ cost_usd: usd(reserved.prompt, reserved.completion), cost_estimated: true, usageEstimated: true });
  });

  it('stream: the final usage chunk carries the cost of the reservation, marked estimated', async () => {
    const { h, fake } = await setup();
    const frame = (extra: Record<string, unknown>): string => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'up', ...extra })}\n\n`;
    const sse = frame({ choices: [{ index: 0, delta: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }] }) + frame({ choices: [], usage: absurd }) + 'data: [DONE]\n\n';
    fake.enqueue({ kind: 'replay', body: sse, contentType: 'text/event-stream' });
    const res = await chat(h.url, { ...body, stream: true, stream_options: { include_usage: true } });
    const final = res.events().filter((e) => e !== '[DONE]').map((e) => JSON.parse(e)).find((c) => c.usage);
    expect(final.usage).toMatchObject({ cost_usd: usd(reserved.prompt, reserved.completion), cost_estimated: true });
  });

  it('a usage chunk followed by a long stream is not held back until the end: chunks flow, in order', async () => {
    const { h, fake } = await setup();
    const frame = (extra: Record<string, unknown>): string => `data: ${JSON.stringify({ id: 'c', object: 'chat.completion.chunk', created: 1, model: 'up', ...extra })}\n\n`;
    const words = Array.from({ length: 80 }, (_, i) => `w${String(i).padStart(3, '0')} `);
    const sse = frame({ choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } }) + words.map((w) => frame({ choices: [{ index: 0, delta: { content: w }, finish_reason: null }] })).join('') + 'data: [DONE]\n\n';
    // 64-byte pieces 5 ms apart: the upstream takes well over half a second after word 20.
    fake.setBehaviour({ chunkIntervalMs: 5 });
    fake.enqueue({ kind: 'replay', body: sse, contentType: 'text/event-stream', pieceBytes: 64 });
    const res = await request(`${h.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ ...body, stream: true, stream_options: { include_usage: true } }),
    });
    let text = '';
    let sawWord20At: number | undefined;
    for await (const piece of res.body) {
      text += String(piece);
      if (sawWord20At === undefined && text.includes('w020')) sawWord20At = performance.now();
    }
    const doneAt = performance.now();
    // Held behind the early usage chunk until [DONE], word 20 would arrive with everything else.
    expect(doneAt - sawWord20At!).toBeGreaterThan(150);
    const chunks = text.split('\n\n').filter((b) => b.startsWith('data: ') && b !== 'data: [DONE]').map((b) => JSON.parse(b.slice(6)));
    expect(chunks[0].usage).toMatchObject({ prompt_tokens: 3, completion_tokens: 1 });
    expect(chunks.slice(1).map((c) => c.choices[0].delta.content).join('')).toBe(words.join(''));
    expect(text.endsWith('data: [DONE]\n\n')).toBe(true);
  });

  it('a stream cut mid-way is charged by its estimate, marked estimated, in the log and the metric', async () => {
    const { h, fake, logs } = await setup();
    fake.enqueue({ kind: 'reset-mid-stream', afterChunks: 2 });
    await chat(h.url, { ...body, stream: true, stream_options: { include_usage: true } }).catch(() => undefined);
    await waitUntil(() => requestLines(logs).length === 1);
    const line = requestLines(logs)[0]!;
    expect(line).toMatchObject({ usageEstimated: true, cost_estimated: true });
    expect(line.cost_usd).toBe(usd(line.promptTokens, line.completionTokens));
    expect(await metric(h.url, 'gateway_cost_usd_total', { model: 'priced', deployment: 'fake', team: 'main' })).toBe(Number(line.cost_usd));
  });
});

describe('an unpriced target', () => {
  it('is warned about once at load, serves, tells the client nothing, logs cost null and is counted', async () => {
    const { h, logs } = await setup();
    const warnings = logs.filter((l) => /has no price/.test(l.msg));
    expect(warnings).toEqual([expect.objectContaining({ level: 40, model: 'unpriced', deployment: 'other', upstreamModel: 'gpt-4o' })]);
    const json = await chat(h.url, chatBody('unpriced'));
    expect(json.status).toBe(200);
    expect(json.headers['x-gateway-cost-usd']).toBeUndefined();
    const stream = await chat(h.url, chatBody('unpriced', { stream: true, stream_options: { include_usage: true } }));
    const final = stream.events().filter((e) => e !== '[DONE]').map((e) => JSON.parse(e)).find((c) => c.usage);
    expect(final.usage.prompt_tokens).toBeGreaterThan(0);
    expect(final.usage).not.toHaveProperty('cost_usd');
    await waitUntil(() => requestLines(logs).length === 2);
    expect(requestLines(logs).map((l) => l.cost_usd)).toEqual([null, null]);
    expect(requestLines(logs).every((l) => !('cost_estimated' in l))).toBe(true);
    expect(await metric(h.url, 'gateway_cost_unpriced_total', { model: 'unpriced' })).toBe(2);
  });
});
