import { createRequire } from 'node:module';
import OpenAI from 'openai';
import { afterEach, describe, expect, it } from 'vitest';
import { VllmSim, type VllmSimStats } from './server.js';

interface Family {
  name: string;
  type: string;
  help: string;
  metrics: Array<{ value?: string; labels?: Record<string, string>; buckets?: Record<string, string>; count?: string; sum?: string }>;
}
// The package ships no types; this is the part of its result the test reads.
const parsePrometheus = createRequire(import.meta.url)('parse-prometheus-text-format') as (text: string) => Family[];

const sims: VllmSim[] = [];
afterEach(async () => {
  await Promise.all(sims.splice(0).map((s) => s.close()));
});

async function start(options: Parameters<typeof VllmSim.start>[0] = {}): Promise<VllmSim> {
  const sim = await VllmSim.start(options);
  sims.push(sim);
  return sim;
}

async function metrics(sim: VllmSim): Promise<Map<string, Family>> {
  const res = await fetch(sim.metricsUrl);
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/);
  return new Map(parsePrometheus(await res.text()).map((f) => [f.name, f]));
}

function value(families: Map<string, Family>, name: string): number {
  const metric = families.get(name)?.metrics[0];
  expect(metric?.labels).toEqual({ model_name: 'sim-m' });
  return Number(metric?.value);
}

/** Waits (polling, with a deadline) until the simulator's state satisfies `check`. */
async function until(sim: VllmSim, check: (s: VllmSimStats) => boolean): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (!check(sim.stats())) {
    if (Date.now() > deadline) throw new Error(`state never reached: ${JSON.stringify(sim.stats())}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const system = 'You are a helpful assistant. '.repeat(40);
const chat = (user: string, extra: object = {}): object => ({
  model: 'sim-m',
  messages: [{ role: 'system', content: system }, { role: 'user', content: user }],
  ...extra,
});

describe('vllm-sim over HTTP', () => {
  it('streams through the OpenAI SDK: role chunk, one delta per token, finish, usage with cached tokens', async () => {
    const sim = await start({ model: 'sim-m' });
    const client = new OpenAI({ baseURL: sim.baseUrl, apiKey: 'unused', maxRetries: 0 });
    const read = async (user: string): Promise<{ roles: number; deltas: string[]; finish: string[]; usage: OpenAI.CompletionUsage | undefined }> => {
      const stream = await client.chat.completions.create({ model: 'sim-m', messages: [{ role: 'system', content: system }, { role: 'user', content: user }], max_tokens: 7, stream: true, stream_options: { include_usage: true } });
      const out = { roles: 0, deltas: [] as string[], finish: [] as string[], usage: undefined as OpenAI.CompletionUsage | undefined };
      for await (const chunk of stream) {
        const choice = chunk.choices[0];
        if (choice?.delta.role === 'assistant') out.roles++;
        if (choice?.delta.content) out.deltas.push(choice.delta.content);
        if (choice?.finish_reason) out.finish.push(choice.finish_reason);
        if (chunk.usage) out.usage = chunk.usage;
      }
      return out;
    };
    const first = await read('first question');
    expect(first.roles).toBe(1);
    expect(first.deltas).toHaveLength(7);
    expect(first.finish).toEqual(['length']);
    expect(first.usage?.completion_tokens).toBe(7);
    expect(first.usage?.prompt_tokens_details?.cached_tokens).toBe(0);
    const second = await read('second question');
    const cached = second.usage?.prompt_tokens_details?.cached_tokens ?? 0;
    expect(cached).toBeGreaterThan(0);
    expect(cached % 16).toBe(0);
    expect(sim.stats()).toMatchObject({ completed: 2, prefixHitTokens: cached, running: 0, waiting: 0 });
  });

  it('answers chat and completions as JSON with exactly max_tokens tokens', async () => {
    const sim = await start({ model: 'sim-m', defaultOutputTokens: 5 });
    const post = (path: string, body: object): Promise<Response> =>
      fetch(`${sim.baseUrl}${path}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const json = (await (await post('/chat/completions', chat('hi', { max_completion_tokens: 3 }))).json()) as Record<string, any>;
    expect(json['object']).toBe('chat.completion');
    expect(json['choices'][0].message.content).toBe('The sim says');
    expect(json['usage']).toMatchObject({ completion_tokens: 3, prompt_tokens_details: { cached_tokens: 0 } });
    const text = (await (await post('/completions', { model: 'sim-m', prompt: 'hello' })).json()) as Record<string, any>;
    expect(text['object']).toBe('text_completion');
    expect(text['choices'][0]).toMatchObject({ finish_reason: 'stop' });
    expect(text['usage']).toMatchObject({ prompt_tokens: 2, completion_tokens: 5 });
    expect((await post('/chat/completions', chat('hi', { model: 'other' }))).status).toBe(404);
    expect((await post('/chat/completions', { messages: [] })).status).toBe(400);
    expect((await post('/chat/completions', chat('hi', { max_tokens: 0 }))).status).toBe(400);
    expect((await post('/completions', { prompt: 'x'.repeat(4 * 70_000) })).status).toBe(400);
    const models = (await (await fetch(`${sim.baseUrl}/models`)).json()) as { data: Array<{ id: string }> };
    expect(models.data.map((m) => m.id)).toEqual(['sim-m']);
    expect((await fetch(sim.metricsUrl.replace('/metrics', '/health'))).status).toBe(200);
  });

  it('queues when the KV cache is full, shows it in /metrics, and admits the waiting request when a client aborts', async () => {
    // Room for two requests of 100 + 200 tokens (19 blocks each), steps slow enough to hold the state.
    const sim = await start({ model: 'sim-m', kvCapacityTokens: 640, decodeBaseMs: 20 });
    const aborts = [new AbortController(), new AbortController(), new AbortController()];
    const responses = aborts.map((a) =>
      fetch(`${sim.baseUrl}/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'p'.repeat(400), max_tokens: 200, stream: true }), signal: a.signal }),
    );
    // They all end aborted; a failed assertion must not leave them as unhandled rejections.
    for (const r of responses) r.catch(() => undefined);
    await until(sim, (s) => s.running === 2 && s.waiting === 1);
    const busy = await metrics(sim);
    expect(value(busy, 'vllm:num_requests_running')).toBe(2);
    expect(value(busy, 'vllm:num_requests_waiting')).toBe(1);
    expect(value(busy, 'vllm:kv_cache_usage_perc')).toBeCloseTo(38 / 40, 9);
    for (const [name, type] of [['vllm:prefix_cache_queries_total', 'counter'], ['vllm:prefix_cache_hits_total', 'counter'], ['vllm:prompt_tokens_total', 'counter'], ['vllm:generation_tokens_total', 'counter'], ['vllm:time_to_first_token_seconds', 'histogram']] as const) {
      expect(busy.get(name)?.type.toLowerCase()).toBe(type);
      expect(busy.get(name)?.help).not.toBe('');
    }
    expect(value(busy, 'vllm:prompt_tokens_total')).toBe(200);

    // Headers come with the first token. Both running requests get theirs, in the same step or,
    // on a busy machine where the second arrived a step later, the next one.
    const first = await responses[0]!;
    expect(first.status).toBe(200);
    const deadline = Date.now() + 5_000;
    let ttft = (await metrics(sim)).get('vllm:time_to_first_token_seconds')?.metrics[0];
    while (ttft?.buckets?.['+Inf'] !== '2' && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      ttft = (await metrics(sim)).get('vllm:time_to_first_token_seconds')?.metrics[0];
    }
    // This parser flattens a labelled histogram to its buckets (it drops _count and _sum).
    expect(ttft?.buckets?.['+Inf']).toBe('2');
    expect(Number(ttft?.buckets?.['0.001'])).toBeLessThanOrEqual(Number(ttft?.buckets?.['2560']));

    // The first client leaves: its blocks are freed and the waiting request runs.
    aborts[0]!.abort();
    await until(sim, (s) => s.aborted === 1 && s.running === 2 && s.waiting === 0);
    const after = await metrics(sim);
    expect(value(after, 'vllm:num_requests_waiting')).toBe(0);
    expect(value(after, 'vllm:prompt_tokens_total')).toBe(300);
    for (const a of aborts) a.abort();
    await Promise.allSettled(responses);
    await until(sim, (s) => s.aborted === 3 && s.running === 0);
  });

  it('answers 503 past the waiting-queue bound', async () => {
    const sim = await start({ kvCapacityTokens: 256, maxWaiting: 1, decodeBaseMs: 20 });
    const controller = new AbortController();
    const post = (): Promise<Response> =>
      fetch(`${sim.baseUrl}/completions`, { method: 'POST', body: JSON.stringify({ prompt: 'p', max_tokens: 200 }), signal: controller.signal });
    const held = [post()];
    held[0]!.catch(() => undefined);
    await until(sim, (s) => s.running === 1);
    held.push(post());
    held[1]!.catch(() => undefined);
    await until(sim, (s) => s.waiting === 1);
    const refused = await post();
    expect(refused.status).toBe(503);
    expect(((await refused.json()) as { error: { type: string } }).error.type).toBe('server_error');
    controller.abort();
    await Promise.allSettled(held);
  });
});
