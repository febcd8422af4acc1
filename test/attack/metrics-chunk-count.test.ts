/**
 * Attack on gen_ai.client.operation.time_per_output_chunk: it is the upstream's instrument
 * ("recorded for each chunk received after the first one"), but it counted the chunks the
 * gateway wrote to its client after translation. The same upstream stream then gave a different
 * number of observations depending on the API the client called (/v1/messages turns one OpenAI
 * chunk into several Anthropic events, each a made-up 0 s gap that pulls the quantiles down),
 * and upstream events that translate to nothing (Anthropic's ping, content_block_stop) were not
 * counted at all. One observation per upstream event after the first, whatever the client route.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { AttemptEvent } from '../../src/observability/events.js';
import type { FakeDialectName } from '../../src/testing/fake-upstream/script.js';
import type { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';
import { chat, deploymentFor, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const body = { model: 'm', max_tokens: 64, stream: true, messages: [{ role: 'user', content: 'hi' }] };

describe.each(['openai', 'anthropic', 'gemini'] as FakeDialectName[])('%s upstream', (dialect) => {
  it('the same upstream stream gives the same per-chunk observations on /v1/chat/completions and /v1/messages', async () => {
    const seen: AttemptEvent[] = [];
    h = await startHarness({
      fakes: [{ dialect, behaviour: { chunks: 6 } }],
      env: { K: 'provider-key-0123456789' },
      eventSinks: [{ attemptFinished: (e) => seen.push(e) }],
      config: (f) => ({
        retry: { maxAttempts: 1 },
        deployments: { d: deploymentFor(f[0] as FakeUpstream, dialect === 'openai' ? {} : { apiKey: '${env:K}' }) },
        models: { m: { targets: [{ deployment: 'd', model: 'x', defaultMaxTokens: 64 }] } },
      }),
    });
    const gaps: number[] = [];
    for (const path of ['/v1/chat/completions', '/v1/messages']) {
      seen.length = 0;
      expect((await chat(h.url, body, { path })).status).toBe(200);
      await new Promise((r) => setTimeout(r, 20));
      expect(seen).toHaveLength(1);
      gaps.push(seen[0]!.chunkGaps?.count ?? -1);
    }
    expect(gaps[0]).toBeGreaterThan(0);
    expect(gaps[1]).toBe(gaps[0]);
  });
});
