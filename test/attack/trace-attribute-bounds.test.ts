/**
 * Attack: span attributes are bounded whatever a client or an upstream sends. The upstream's
 * `id`, `model` and `finish_reason` become span attributes (gen_ai.response.*); an upstream that
 * answers with a 300 KB `id` must not make every queued span 300 KB (2048 queued spans would be
 * 600 MB of RSS held by a slow collector).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chat, chatBody, startHarness, waitUntil, type Harness } from '../helpers/harness.js';
import { startOtlpReceiver, type AttrValue, type OtlpReceiver } from '../helpers/otlp-receiver.js';

const open: Array<{ close(): Promise<void> }> = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

const BIG = 300_000;

function longestString(v: AttrValue): number {
  if (typeof v === 'string') return v.length;
  if (Array.isArray(v)) return v.reduce<number>((m, x) => Math.max(m, longestString(x)), 0);
  return 0;
}

describe('span attributes are bounded', () => {
  it('an upstream answering with a huge id, model and finish_reason: every attribute value stays small', async () => {
    const rcv: OtlpReceiver = await startOtlpReceiver();
    open.push(rcv);
    const h: Harness = await startHarness({
      fakes: [{ dialect: 'openai', behaviour: { reply: 'ok' } }],
      config: ([fake]) => ({
        tracing: { enabled: true, endpoint: rcv.url, protocol: 'http/json', scheduledDelayMs: 20 },
        deployments: { d1: { provider: 'openai', baseUrl: fake!.baseUrl } },
        models: { chat: { targets: [{ deployment: 'd1', model: 'gpt-4o-mini' }] } },
      }),
    });
    open.unshift(h);
    const huge = 'x'.repeat(BIG);
    const body = {
      id: `chatcmpl-${huge}`,
      object: 'chat.completion',
      created: 1,
      model: `gpt-4o-mini-${huge}`,
      choices: [{ index: 0, message: { role: 'assistant', content: 'hi' }, finish_reason: `stop${huge}` }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    };
    h.fakes[0]!.enqueue({ kind: 'replay', body: new TextEncoder().encode(JSON.stringify(body)), contentType: 'application/json' });
    const res = await chat(h.url, chatBody('chat'));
    expect(res.status).toBe(200);
    await waitUntil(() => rcv.spans.length >= 2);
    for (const s of rcv.spans) {
      for (const [k, v] of Object.entries(s.attributes)) expect(longestString(v), k).toBeLessThanOrEqual(256);
    }
  });
});
