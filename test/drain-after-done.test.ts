/**
 * After a stream's last event (issue 9 §3 second bullet): the rest of the upstream body is read
 * so its connection can be reused, but only for a bounded time and size; an upstream that keeps
 * sending comments, or goes silent, after `[DONE]` loses the connection instead of pinning it.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, startHarness, type Harness } from './helpers/harness.js';

let h: Harness | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
});

async function start(): Promise<[Harness, FakeUpstream]> {
  h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    // Long idle timeout: only the drain bound can end the connection within the test.
    config: (f) => ({
      timeouts: { totalMs: 60_000, firstByteMs: 60_000, idleMs: 60_000 },
      deployments: { one: deploymentFor(f[0] as FakeUpstream) },
      models: { m: { targets: [{ deployment: 'one', model: 'x' }] } },
    }),
  });
  return [h, h.fakes[0] as FakeUpstream];
}

describe('reading the upstream body after [DONE]', () => {
  it('an upstream that keeps sending comments after [DONE] has its connection closed, the client got a complete stream', async () => {
    const [harness, fake] = await start();
    fake.enqueue({ kind: 'trickle', afterChunks: 1_000 });
    const res = await chat(harness.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    expect(res.events().at(-1)).toBe('[DONE]');
    // The fake counts an exchange its client closed before the fake finished it.
    await fake.waitForAborts(1, 10_000);
  });

  it('an upstream that goes silent after [DONE] has its connection closed long before timeouts.idleMs', async () => {
    const [harness, fake] = await start();
    fake.enqueue({ kind: 'stall', afterChunks: 1_000 });
    const res = await chat(harness.url, chatBody('m', { stream: true }));
    expect(res.status).toBe(200);
    expect(res.events().at(-1)).toBe('[DONE]');
    await fake.waitForAborts(1, 10_000);
  });
});
