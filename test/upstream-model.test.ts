/**
 * Which model name goes where (issue 10 §6): the client-visible `model` stays the alias the client
 * asked for (clients compare it with what they sent); the model the upstream says answered (an
 * OpenAI dated snapshot) is in `x-gateway-upstream-model` and is `gen_ai.response.model`, within
 * a bound per configured model so an upstream that makes names up cannot grow the series.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { maxResponseModelsPerModel } from '../src/observability/metrics.js';
import { chat, chatBody, parseMetrics, scrapeMetrics, startHarness, type Harness } from './helpers/harness.js';

const CONFIGURED = 'gpt-4o';
const SNAPSHOT = 'gpt-4o-2024-08-06';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function setup(): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect: 'openai', behaviour: { reply: 'ok' } }],
    config: ([fake]) => ({ deployments: { d: { provider: 'openai', baseUrl: fake!.baseUrl } }, models: { chat: { targets: [{ deployment: 'd', model: CONFIGURED }] } } }),
  });
  open.push(h);
  return h;
}

function completion(model: string): string {
  return JSON.stringify({
    id: 'chatcmpl-1',
    object: 'chat.completion',
    created: 1,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: 'hi', refusal: null }, logprobs: null, finish_reason: 'stop' }],
    usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 },
  });
}

function stream(model: string): string {
  const chunk = (delta: Record<string, unknown>, finish: string | null) =>
    `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
  const usage = `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model, choices: [], usage: { prompt_tokens: 3, completion_tokens: 1, total_tokens: 4 } })}\n\n`;
  return chunk({ role: 'assistant', content: '' }, null) + chunk({ content: 'hi' }, null) + chunk({}, 'stop') + usage + 'data: [DONE]\n\n';
}

const responseModels = (text: string): string[] =>
  [...new Set(parseMetrics(text).filter((s) => s.name === 'gen_ai_client_operation_duration_seconds_count').map((s) => s.labels.gen_ai_response_model!))].sort();

describe('the model that served: alias for the client, the upstream\'s answer for x-gateway-upstream-model and gen_ai.response.model', () => {
  it('JSON and stream: body model is the alias; header and gen_ai.response.model are the dated snapshot; request model stays the configured one', async () => {
    const h = await setup();
    const fake = h.fakes[0]!;
    fake.enqueue({ kind: 'replay', body: completion(SNAPSHOT), contentType: 'application/json' });
    const json = await chat(h.url, chatBody('chat'));
    expect(json.status).toBe(200);
    expect(json.json().model).toBe('chat');
    expect(json.headers['x-gateway-upstream-model']).toBe(SNAPSHOT);

    fake.enqueue({ kind: 'replay', body: stream(SNAPSHOT), contentType: 'text/event-stream' });
    const streamed = await chat(h.url, chatBody('chat', { stream: true, stream_options: { include_usage: true } }));
    expect(streamed.status).toBe(200);
    expect(streamed.headers['x-gateway-upstream-model']).toBe(SNAPSHOT);
    const chunks = streamed.events().filter((e) => e !== '[DONE]').map((e) => JSON.parse(e) as { model: string });
    expect(chunks.length).toBeGreaterThan(2);
    expect(new Set(chunks.map((c) => c.model))).toEqual(new Set(['chat']));

    const text = await scrapeMetrics(h.url);
    const duration = parseMetrics(text).filter((s) => s.name === 'gen_ai_client_operation_duration_seconds_count');
    expect(duration.map((s) => [s.labels.gen_ai_request_model, s.labels.gen_ai_response_model, s.value])).toEqual([[CONFIGURED, SNAPSHOT, 2]]);
    const tokens = parseMetrics(text).filter((s) => s.name === 'gen_ai_client_token_usage_count');
    expect(new Set(tokens.map((s) => s.labels.gen_ai_response_model))).toEqual(new Set([SNAPSHOT]));
    // The streaming client instruments and the server side name the upstream's answer too.
    for (const name of ['gen_ai_client_operation_time_to_first_chunk_seconds_count', 'gen_ai_client_operation_time_per_output_chunk_seconds_count']) {
      const series = parseMetrics(text).filter((s) => s.name === name);
      expect(series.map((s) => [s.labels.gen_ai_request_model, s.labels.gen_ai_response_model]), name).toEqual([[CONFIGURED, SNAPSHOT]]);
    }
    for (const name of ['gen_ai_server_request_duration_seconds_count', 'gen_ai_server_time_to_first_token_seconds_count']) {
      const series = parseMetrics(text).filter((s) => s.name === name);
      expect(series.length, name).toBeGreaterThan(0);
      expect(new Set(series.map((s) => `${s.labels.gen_ai_request_model} ${s.labels.gen_ai_response_model} ${s.labels.gen_ai_provider_name}`)), name).toEqual(new Set([`chat ${SNAPSHOT} openai`]));
    }
  });

  it('an upstream that names no model, or a name that is not one (spaces, control characters, 129 characters), leaves the configured model', async () => {
    const h = await setup();
    const fake = h.fakes[0]!;
    for (const bad of ['', 'gpt 4o', 'gpt-4o\r\nx-evil: 1', 'x'.repeat(129)]) {
      fake.enqueue({ kind: 'replay', body: completion(bad), contentType: 'application/json' });
      const res = await chat(h.url, chatBody('chat'));
      expect(res.status).toBe(200);
      expect(res.headers['x-gateway-upstream-model']).toBe(CONFIGURED);
    }
    expect(responseModels(await scrapeMetrics(h.url))).toEqual([CONFIGURED]);
  });

  it(`S-19: an upstream that makes up a new model name per response adds at most ${maxResponseModelsPerModel} series, then "other"`, async () => {
    const h = await setup();
    const fake = h.fakes[0]!;
    const names = Array.from({ length: maxResponseModelsPerModel + 6 }, (_, i) => `made-up-${i}`);
    for (const name of names) {
      fake.enqueue({ kind: 'replay', body: completion(name), contentType: 'application/json' });
      const res = await chat(h.url, chatBody('chat'));
      // The client is still told what the upstream said; only the metric label is bounded.
      expect(res.headers['x-gateway-upstream-model']).toBe(name);
    }
    expect(responseModels(await scrapeMetrics(h.url))).toEqual([...names.slice(0, maxResponseModelsPerModel), 'other'].sort());
  });
});
