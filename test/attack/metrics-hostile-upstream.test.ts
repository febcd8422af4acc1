/**
 * Attack on the streaming metrics with a hostile upstream, over real sockets: response model
 * names that change on every stream (label cardinality must stay bounded per configured
 * model), names that are no model name (never a label), and a stream of many tiny chunks
 * delivered in one piece and then one byte at a time (every chunk counted once, nothing lost).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { maxResponseModelsPerModel } from '../../src/observability/metrics.js';
import type { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, parseMetrics, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

function sse(model: string, pieces: number): string {
  const chunk = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
  let out = chunk({ role: 'assistant', content: '' });
  for (let i = 0; i < pieces; i++) out += chunk({ content: 'a' });
  return `${out}${chunk({}, 'stop')}data: [DONE]\n\n`;
}

async function start(): Promise<Harness> {
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    config: (f) => ({ retry: { maxAttempts: 1 }, deployments: { d: deploymentFor(f[0] as FakeUpstream) }, models: { m: { targets: [{ deployment: 'd', model: 'x' }] } } }),
  });
  return h;
}

const values = (text: string, name: string, label: string) => new Set(parseMetrics(text).filter((s) => s.name === name).map((s) => s.labels[label]));

describe('hostile upstream and the streaming metrics', () => {
  it('a response model that churns on every stream, or is no model name, adds at most the bounded number of series', async () => {
    const harness = await start();
    const fake = harness.fakes[0] as FakeUpstream;
    const names = [...Array.from({ length: 30 }, (_, i) => `made-up-${i}`), 'x'.repeat(500), 'bad name\r\nx-injected: 1', 'modèle'];
    for (const name of names) {
      fake.enqueue({ kind: 'replay', body: sse(name, 2), contentType: 'text/event-stream' });
      const res = await chat(harness.url, chatBody('m', { stream: true }));
      expect(res.status).toBe(200);
      expect(res.headers['x-injected']).toBeUndefined();
    }
    const text = await harness.gateway.metrics.text();
    for (const name of ['gen_ai_client_operation_duration_seconds_count', 'gen_ai_client_operation_time_to_first_chunk_seconds_count', 'gen_ai_client_operation_time_per_output_chunk_seconds_count', 'gen_ai_server_request_duration_seconds_count', 'gen_ai_server_time_to_first_token_seconds_count']) {
      const seen = values(text, name, 'gen_ai_response_model');
      expect(seen.size, name).toBeLessThanOrEqual(maxResponseModelsPerModel + 2);
      for (const v of seen) expect(v, name).toMatch(/^[A-Za-z0-9._:/@+-]{0,128}$/);
    }
  });

  it('many tiny chunks in one write, then one byte per write: each output chunk is one observation', async () => {
    const harness = await start();
    const fake = harness.fakes[0] as FakeUpstream;
    const pieces = 3_000;
    fake.enqueue({ kind: 'replay', body: sse('x', pieces), contentType: 'text/event-stream' });
    const res = await chat(harness.url, chatBody('m', { stream: true }));
    expect(res.events()).toHaveLength(pieces + 3);
    const small = sse('x', 20);
    fake.enqueue({ kind: 'replay', body: small, contentType: 'text/event-stream', pieceBytes: 1 });
    const res2 = await chat(harness.url, chatBody('m', { stream: true }));
    expect(res2.events()).toHaveLength(20 + 3);
    const text = await harness.gateway.metrics.text();
    const sum = (name: string) => parseMetrics(text).filter((s) => s.name === name).reduce((a, s) => a + s.value, 0);
    // Role, pieces and finish chunks: all but the first of each stream are a gap.
    expect(sum('gen_ai_client_operation_time_per_output_chunk_seconds_count')).toBe(pieces + 1 + 20 + 1);
    expect(sum('gen_ai_client_operation_time_to_first_chunk_seconds_count')).toBe(2);
    expect(sum('gen_ai_client_operation_duration_seconds_count')).toBe(2);
  });
});
