/**
 * D-01 with a request stuck waiting for an upstream connection (issue 9 §3): SIGTERM must end
 * the process within the grace period plus the abort settle and the pool close, whatever undici
 * still holds. Real CLI in a child process.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { startChildGateway, type ChildGateway } from './helpers/child-gateway.js';
import { KEY } from './helpers/harness.js';

let gateway: ChildGateway | undefined;
let fake: FakeUpstream | undefined;

afterEach(async () => {
  await gateway?.cleanup();
  gateway = undefined;
  await fake?.close();
  fake = undefined;
});

async function send(url: string, stream: boolean): Promise<{ status?: number; text?: string; error?: string }> {
  try {
    const res = await fetch(`${url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ model: 'm', stream, messages: [{ role: 'user', content: 'hold the line' }] }),
      signal: AbortSignal.timeout(60_000),
    });
    return { status: res.status, text: await res.text() };
  } catch (err) {
    return { error: (err as Error).message };
  }
}

describe('drain with a request waiting for an upstream connection', () => {
  it('D-01: SIGTERM with a request queued for a busy pool: the process exits 0 within grace + settle + pool close', { timeout: 90_000 }, async () => {
    // The one connection is held by a stream that stalls mid-way (the upstream sends three
    // chunks, then nothing); the second request waits for that connection.
    fake = await FakeUpstream.start({ dialect: 'openai' });
    fake.enqueue({ kind: 'stall', afterChunks: 3 });
    const graceMs = 2_000;
    gateway = startChildGateway({
      config: {
        server: { host: '127.0.0.1', port: 0, drainDelayMs: 0, shutdownGraceMs: graceMs },
        logging: { level: 'info', format: 'json' },
        timeouts: { connectMs: 1_000, firstByteMs: 60_000, idleMs: 60_000, totalMs: 60_000 },
        deployments: { one: { provider: 'openai', baseUrl: fake.baseUrl, maxConnections: 1 } },
        models: { m: { targets: [{ deployment: 'one', model: 'x' }] } },
        tenants: { main: { keys: [KEY] } },
      },
    });
    const url = String((await gateway.waitForLog((l) => l.msg === 'llm-gateway listening', 15_000)).url);
    const first = send(url, true);
    for (let i = 0; i < 200 && fake.stats.requests < 1; i++) await new Promise((r) => setTimeout(r, 50));
    expect(fake.stats.requests).toBe(1);
    const queued = send(url, false);
    await new Promise((r) => setTimeout(r, 500));

    const signalledAt = Date.now();
    gateway.child.kill('SIGTERM');
    // Grace, then 2 s for aborted requests to answer, then 1 s for pools to close: 5 s; the
    // rest is slack for a busy machine. Before the fix the process never exited.
    const exit = await Promise.race([gateway.exited, new Promise<'alive'>((r) => setTimeout(() => r('alive'), 30_000))]);
    expect(exit, 'process still alive 30 s after SIGTERM').not.toBe('alive');
    expect(exit).toEqual({ code: 0, signal: null });
    expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(graceMs - 100);
    // Both got an answer, not a reset: the stream its shutting_down event, the queued request
    // whatever the drain gave it.
    const held = await first;
    expect(held.error).toBeUndefined();
    expect(held.text).not.toContain('[DONE]');
    const second = await queued;
    expect(second.error).toBeUndefined();
    expect([200, 503]).toContain(second.status);
  });
});
