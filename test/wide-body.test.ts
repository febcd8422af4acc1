/**
 * Issue 9 §2: a 10 MB body of ~880k top-level keys stalled the event loop for 2.7 s (every copy
 * of the body pays per key). Objects wider than 10,000 keys are refused at the edge with a 400
 * in the shape of the API that was called.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { chat, deploymentFor, startHarness, type Harness } from './helpers/harness.js';

const open: Harness[] = [];
afterEach(async () => {
  await Promise.all(open.splice(0).map((h) => h.close()));
});

async function start(): Promise<Harness> {
  const h = await startHarness({
    fakes: [{ dialect: 'openai' }],
    config: ([oa]) => ({ deployments: { oa: deploymentFor(oa!) }, models: { m: { targets: [{ deployment: 'oa', model: 'm' }] } } }),
  });
  open.push(h);
  return h;
}

/** A valid request plus `extra` unknown top-level keys. */
function wide(base: Record<string, unknown>, extra: number): string {
  const keys: string[] = [];
  for (let i = 0; i < extra; i++) keys.push(`"x${i}":0`);
  return `{${JSON.stringify(base).slice(1, -1)},${keys.join(',')}}`;
}

describe('objects wider than 10,000 keys are refused (issue 9 §2)', () => {
  const chatBase = { model: 'm', messages: [{ role: 'user', content: 'hi' }] };
  const messagesBase = { model: 'm', max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] };

  it('/v1/chat/completions: 400 invalid_json in the OpenAI shape; the upstream never sees it', async () => {
    const h = await start();
    const res = await chat(h.url, wide(chatBase, 880_000));
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ error: { type: 'invalid_request_error', code: 'invalid_json', message: expect.stringContaining('10000 keys') } });
    expect(h.fakes[0]!.stats.requests).toBe(0);
  });

  it('/v1/messages: 400 in the Anthropic shape', async () => {
    const h = await start();
    const res = await chat(h.url, wide(messagesBase, 20_000), { path: '/v1/messages' });
    expect(res.status).toBe(400);
    expect(res.json()).toMatchObject({ type: 'error', error: { type: 'invalid_request_error', message: expect.stringContaining('10000 keys') } });
  });

  it('an object of 10,000 keys (keys inside strings not counted) is still served', async () => {
    const h = await start();
    const res = await chat(h.url, wide({ model: 'm', messages: [{ role: 'user', content: ':'.repeat(20_000) }] }, 9_990));
    expect(res.status).toBe(200);
  });
});
