/**
 * The stream commit point (issue 9 §3 third bullet, issue 10 §6): a stream commits to a
 * deployment on its first chunk with content, so an upstream that answers 200 and then sends
 * nothing useful (only comments; a role chunk and a reset) is failed over like one that never
 * answered, and counts against its breaker. Real sockets against the fake upstreams.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, get, startHarness, type Harness } from './helpers/harness.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(): Promise<[Harness, FakeUpstream, FakeUpstream]> {
  h = await startHarness({
    fakes: [{ dialect: 'openai', name: 'first' }, { dialect: 'openai', name: 'healthy' }],
    // firstContentMs is not set: it defaults to the deployment's firstByteMs (1 s here).
    config: (f) => ({
      timeouts: { firstByteMs: 1_000, idleMs: 30_000, totalMs: 30_000 },
      deployments: { first: deploymentFor(f[0] as FakeUpstream), healthy: deploymentFor(f[1] as FakeUpstream) },
      models: { m: { strategy: 'priority', targets: [{ deployment: 'first', model: 'x', priority: 0 }, { deployment: 'healthy', model: 'y', priority: 1 }] } },
    }),
  });
  return [h, h.fakes[0] as FakeUpstream, h.fakes[1] as FakeUpstream];
}

const stream = (url: string) => chat(url, chatBody('m', { stream: true }), { signal: AbortSignal.timeout(20_000) });

describe('stream commit point', () => {
  it('an upstream that answers 200 then sends only comments fails over after the first-content timeout, and counts for its breaker', async () => {
    const [harness, first] = await start();
    for (let i = 1; i <= 3; i++) {
      first.enqueue({ kind: 'trickle', afterChunks: 0 });
      const res = await stream(harness.url);
      expect(res.status, res.text).toBe(200);
      expect(res.headers['x-gateway-provider']).toBe('healthy');
      expect(res.events().at(-1)).toBe('[DONE]');
    }
    const metrics = (await get(harness.url, '/metrics', null)).text;
    expect(metrics).toMatch(/gateway_upstream_attempts_total\{deployment="first",outcome="timeout"\} 3/);
    // Three consecutive failures (the default threshold): the breaker is open.
    expect(metrics).toMatch(/gateway_circuit_breaker_state\{deployment="first"\} 1/);
  });

  it("a reset right after OpenAI's role-only first chunk fails over: the client sees one clean stream from the next deployment", async () => {
    const [harness, first, healthy] = await start();
    first.enqueue({ kind: 'reset-mid-stream', afterChunks: 1 });
    const res = await stream(harness.url);
    expect(res.status, res.text).toBe(200);
    expect(res.headers['x-gateway-provider']).toBe('healthy');
    expect(res.headers['x-gateway-attempts']).toBe('2');
    const events = res.events();
    expect(events.at(-1)).toBe('[DONE]');
    const chunks = events.slice(0, -1).map((e) => JSON.parse(e) as { choices: Array<{ delta: { role?: string; content?: string } }>; error?: unknown });
    expect(chunks.filter((c) => c.error !== undefined)).toEqual([]);
    expect(chunks.filter((c) => c.choices[0]?.delta.role === 'assistant')).toHaveLength(1);
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toContain('Hello from healthy');
    expect(healthy.stats.requests).toBe(1);
  });

  it('the held-back role chunk is sent with the first content chunk, in order', async () => {
    const [harness] = await start();
    const res = await stream(harness.url);
    expect(res.status).toBe(200);
    const chunks = res.events().slice(0, -1).map((e) => JSON.parse(e) as { choices: Array<{ delta: { role?: string; content?: string } }> });
    expect(chunks[0]?.choices[0]?.delta.role).toBe('assistant');
    expect(chunks.map((c) => c.choices[0]?.delta.content ?? '').join('')).toContain('Hello from first');
  });
});
