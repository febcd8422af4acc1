import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, deploymentFor, get, KEY, metricValue, scrapeMetrics, startHarness, type Harness, type HarnessOptions } from './helpers/harness.js';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const REPLY = 'alpha beta gamma delta epsilon';
const LIMITED_KEY = 'sk-test-limited-0123456789';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function start(options: HarnessOptions): Promise<Harness> {
  const h = await startHarness(options);
  open.push(h);
  return h;
}

/** One openai-dialect and one triton-dialect fake, each behind its own alias. */
function twoDialects(): Promise<Harness> {
  return start({
    fakes: [
      { dialect: 'openai', behaviour: { reply: REPLY, chunks: 3 } },
      { dialect: 'triton', behaviour: { reply: REPLY, chunks: 3 } },
    ],
    config: ([oa, tr]) => ({
      deployments: { 'oa-dep': deploymentFor(oa!), 'tr-dep': deploymentFor(tr!) },
      models: {
        'chat-a': { targets: [{ deployment: 'oa-dep', model: 'upstream-llama-8b' }] },
        'chat-t': { targets: [{ deployment: 'tr-dep', model: 'ensemble' }] },
      },
      tenants: {
        main: {
          keys: [KEY],
          models: ['*'],
          limits: { requests: { capacity: 100, refillPerSecond: 10 }, tokens: { capacity: 1_000_000, refillPerSecond: 1_000 } },
        },
        limited: { keys: [LIMITED_KEY], models: ['chat-t'] },
      },
    }),
  });
}

type Chunk = { id: string; object: string; model: string; choices: Array<{ delta: { content?: string } }>; usage?: unknown };

function parseChunks(events: string[]): Chunk[] {
  return events.filter((e) => e !== '[DONE]').map((e) => JSON.parse(e) as Chunk);
}

function contentOf(chunks: Chunk[]): string {
  return chunks.map((c) => c.choices[0]?.delta.content ?? '').join('');
}

function expectGatewayHeaders(headers: Record<string, string>, provider: string, model: string): void {
  expect(headers['x-gateway-request-id']).toMatch(UUID);
  expect(headers['x-gateway-provider']).toBe(provider);
  expect(headers['x-gateway-model']).toBe(model);
  expect(headers['x-gateway-attempts']).toBe('1');
}

describe('chat completions through an openai-dialect deployment', () => {
  it('non-stream: alias in `model`, gateway and rate-limit headers, upstream model substituted', async () => {
    const h = await twoDialects();
    const res = await chat(h.url, chatBody('chat-a'));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^application\/json/);
    expectGatewayHeaders(res.headers, 'oa-dep', 'chat-a');
    expect(res.headers['x-ratelimit-limit-requests']).toBe('100');
    expect(res.headers['x-ratelimit-remaining-requests']).toBe('99');
    expect(res.headers['x-ratelimit-reset-requests']).toMatch(/^\d+(\.\d+)?m?s$/);
    expect(res.headers['x-ratelimit-limit-tokens']).toBe('1000000');
    expect(Number(res.headers['x-ratelimit-remaining-tokens'])).toBeLessThan(1_000_000);

    const body = res.json();
    expect(body).toMatchObject({ object: 'chat.completion', model: 'chat-a', choices: [{ index: 0, message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' }] });
    expect(body.usage).toMatchObject({ completion_tokens: 5 });

    const [fake] = h.fakes;
    expect(fake!.stats.requests).toBe(1);
    const sent = fake!.received[0]!;
    expect(sent.path).toBe('/v1/chat/completions');
    expect(sent.body).toMatchObject({ model: 'upstream-llama-8b', messages: chatBody('x')['messages'] });
    expect((sent.body as Record<string, unknown>)['stream_options']).toBeUndefined();
  });

  it('stream without include_usage (S-17): ends with [DONE], no usage chunk, upstream still asked for usage', async () => {
    const h = await twoDialects();
    const res = await chat(h.url, chatBody('chat-a', { stream: true }));
    expect(res.status).toBe(200);
    expect(res.headers['content-type']).toMatch(/^text\/event-stream/);
    expect(res.headers['cache-control']).toBe('no-cache');
    expectGatewayHeaders(res.headers, 'oa-dep', 'chat-a');
    expect(res.headers['x-ratelimit-remaining-requests']).toBe('99');

    const events = res.events();
    expect(events.at(-1)).toBe('[DONE]');
    expect(events.filter((e) => e === '[DONE]')).toHaveLength(1);
    const chunks = parseChunks(events);
    expect(chunks.length).toBeGreaterThanOrEqual(3);
    expect(chunks.every((c) => c.object === 'chat.completion.chunk' && c.model === 'chat-a')).toBe(true);
    expect(chunks.some((c) => c.choices.length === 0)).toBe(false);
    expect(chunks.some((c) => 'usage' in c)).toBe(false);
    expect(contentOf(chunks)).toBe(REPLY);

    const sent = h.fakes[0]!.received[0]!.body as Record<string, unknown>;
    expect(sent['model']).toBe('upstream-llama-8b');
    expect(sent['stream']).toBe(true);
    expect(sent['stream_options']).toEqual({ include_usage: true });
  });

  it('stream with include_usage (S-17): exactly one choices:[] usage chunk, right before [DONE]', async () => {
    const h = await twoDialects();
    const res = await chat(h.url, chatBody('chat-a', { stream: true, stream_options: { include_usage: true } }));
    expect(res.status).toBe(200);
    const events = res.events();
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = parseChunks(events);
    const usageChunks = chunks.filter((c) => c.choices.length === 0);
    expect(usageChunks).toHaveLength(1);
    expect(chunks.at(-1)).toBe(usageChunks[0]);
    expect(usageChunks[0]!.usage).toMatchObject({ completion_tokens: 5, total_tokens: expect.any(Number) });
    expect(contentOf(chunks)).toBe(REPLY);
    expect((h.fakes[0]!.received[0]!.body as Record<string, unknown>)['stream_options']).toEqual({ include_usage: true });
  });
});

describe('upstream connections', () => {
  it('consecutive streams and completions reuse one upstream connection, and the fake sees every exchange complete', async () => {
    const h = await twoDialects();
    const fake = h.fakes[0]!;
    for (let i = 0; i < 4; i++) {
      const res = await chat(h.url, chatBody('chat-a', { stream: true, stream_options: { include_usage: true } }));
      expect(res.status).toBe(200);
      expect(res.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      expect((await chat(h.url, chatBody('chat-a'))).status).toBe(200);
    }
    await new Promise((r) => setTimeout(r, 100));
    expect(fake.openConnections).toBe(1);
    expect(fake.stats).toMatchObject({ requests: 8, completed: 8, aborted: 0 });
  });
});

describe('chat completions through a triton-dialect deployment', () => {
  it('non-stream: OpenAI shape built from generate, alias in `model`', async () => {
    const h = await twoDialects();
    const res = await chat(h.url, chatBody('chat-t'));
    expect(res.status).toBe(200);
    expectGatewayHeaders(res.headers, 'tr-dep', 'chat-t');
    const body = res.json();
    expect(body).toMatchObject({ object: 'chat.completion', model: 'chat-t', choices: [{ message: { role: 'assistant', content: REPLY }, finish_reason: 'stop' }] });
    expect(body.usage.completion_tokens).toBeGreaterThan(0);

    const tr = h.fakes[1]!;
    expect(tr.stats.requests).toBe(1);
    expect(h.fakes[0]!.stats.requests).toBe(0);
    const sent = tr.received[0]!;
    expect(sent.path).toBe('/v2/models/ensemble/generate');
    expect((sent.body as Record<string, unknown>)['text_input']).toContain('Say hello to the integration tests.');
  });

  it('stream with and without include_usage (S-17): [DONE] ends both, usage chunk only when asked', async () => {
    const h = await twoDialects();
    const plain = await chat(h.url, chatBody('chat-t', { stream: true }));
    expect(plain.status).toBe(200);
    expect(plain.events().at(-1)).toBe('[DONE]');
    const plainChunks = parseChunks(plain.events());
    expect(plainChunks.every((c) => c.model === 'chat-t')).toBe(true);
    expect(plainChunks.some((c) => c.choices.length === 0 || 'usage' in c)).toBe(false);
    expect(contentOf(plainChunks)).toBe(REPLY);

    const withUsage = await chat(h.url, chatBody('chat-t', { stream: true, stream_options: { include_usage: true } }));
    const chunks = parseChunks(withUsage.events());
    expect(withUsage.events().at(-1)).toBe('[DONE]');
    const usage = chunks.filter((c) => c.choices.length === 0);
    expect(usage).toHaveLength(1);
    expect(chunks.at(-1)).toBe(usage[0]);
    expect(contentOf(chunks)).toBe(REPLY);

    const tr = h.fakes[1]!;
    expect(tr.received.map((r) => r.path)).toEqual(['/v2/models/ensemble/generate_stream', '/v2/models/ensemble/generate_stream']);
  });
});

describe('other routes', () => {
  it("GET /v1/models lists only the tenant's allowed aliases", async () => {
    const h = await twoDialects();
    const all = await get(h.url, '/v1/models');
    expect(all.status).toBe(200);
    expect(all.json()).toMatchObject({ object: 'list' });
    expect(all.json().data.map((m: { id: string }) => m.id)).toEqual(['chat-a', 'chat-t']);
    const limited = await get(h.url, '/v1/models', LIMITED_KEY);
    expect(limited.json().data).toEqual([{ id: 'chat-t', object: 'model', created: expect.any(Number), owned_by: 'llm-gateway' }]);
    const anonymous = await get(h.url, '/v1/models', null);
    expect(anonymous.status).toBe(401);
  });

  it('/health, /ready and /metrics answer', async () => {
    const h = await twoDialects();
    const health = await get(h.url, '/health', null);
    expect(health.status).toBe(200);
    expect(health.json()).toEqual({ status: 'ok' });
    const ready = await get(h.url, '/ready', null);
    expect(ready.status).toBe(200);
    expect(ready.json()).toEqual({ status: 'ready' });

    await chat(h.url, chatBody('chat-a'));
    const metrics = await get(h.url, '/metrics', null);
    expect(metrics.status).toBe(200);
    expect(metrics.headers['content-type']).toMatch(/^text\/plain/);
    expect(metricValue(metrics.text, 'gateway_requests_total', { route: '/v1/chat/completions', model: 'chat-a', status_class: '2xx', outcome: 'success' })).toBe(1);
    expect(metricValue(metrics.text, 'gateway_upstream_attempts_total', { deployment: 'oa-dep', outcome: 'success' })).toBe(1);
  });
});

describe('routing', () => {
  function twoOpenAi(strategy: string, targets: Array<Record<string, unknown>>): Promise<Harness> {
    return start({
      fakes: [{ dialect: 'openai', name: 'one' }, { dialect: 'openai', name: 'two' }],
      config: ([a, b]) => ({
        deployments: { one: deploymentFor(a!), two: deploymentFor(b!) },
        models: { m: { strategy, targets } },
      }),
    });
  }

  it('round_robin alternates deployments exactly', async () => {
    const h = await twoOpenAi('round_robin', [
      { deployment: 'one', model: 'x' },
      { deployment: 'two', model: 'x' },
    ]);
    const providers: string[] = [];
    for (let i = 0; i < 6; i++) {
      const res = await chat(h.url, chatBody('m', { stream: i % 2 === 1 }));
      expect(res.status).toBe(200);
      providers.push(res.headers['x-gateway-provider'] ?? '');
    }
    expect(providers).toEqual(['one', 'two', 'one', 'two', 'one', 'two']);
    expect(h.fakes.map((f) => f.stats.requests)).toEqual([3, 3]);
  });

  it('priority always picks the lowest priority value while it is healthy', async () => {
    const h = await twoOpenAi('priority', [
      { deployment: 'one', model: 'x', priority: 1 },
      { deployment: 'two', model: 'x', priority: 0 },
    ]);
    for (let i = 0; i < 5; i++) {
      const res = await chat(h.url, chatBody('m'));
      expect(res.status).toBe(200);
      expect(res.headers['x-gateway-provider']).toBe('two');
    }
    expect(h.fakes.map((f) => f.stats.requests)).toEqual([0, 5]);
    const text = await scrapeMetrics(h.url);
    expect(metricValue(text, 'gateway_upstream_attempts_total', { deployment: 'two' })).toBe(5);
    expect(metricValue(text, 'gateway_upstream_attempts_total', { deployment: 'one' })).toBe(0);
  });
});
