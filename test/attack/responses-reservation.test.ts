/**
 * Attack on the token reservation of `POST /v1/responses` (issue 16): the prompt estimate was
 * made from the chat translation, which drops what chat cannot carry (reasoning items, custom
 * tool outputs and other item types, file parts). A deployment that serves the Responses API
 * natively is sent all of them and bills them as prompt, so 400 KB of `encrypted_content` or
 * `file_data` reserved 7 tokens against a 50,000-token bucket and went upstream.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { FakeUpstream } from '../../src/testing/fake-upstream/fake-upstream.js';
import { chat, deploymentFor, KEY, startHarness, type Harness } from '../helpers/harness.js';

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

const big = 'A'.repeat(400_000);

describe('attack: content hidden from the /v1/responses token reservation', () => {
  it('reasoning encrypted_content, a custom tool output and a file part each reserve their size on a native deployment', async () => {
    h = await startHarness({
      fakes: [{ dialect: 'openai' }],
      config: (f) => ({
        retry: { maxAttempts: 1 },
        tenants: { main: { keys: [KEY], models: ['*'], limits: { tokens: { capacity: 50_000, refillPerSecond: 0.001 } } } },
        deployments: { d: deploymentFor(f[0] as FakeUpstream, { responsesApi: true }) },
        models: { m: { targets: [{ deployment: 'd', model: 'x' }] } },
      }),
    });
    const fake = h.fakes[0] as FakeUpstream;
    const inputs = [
      [{ type: 'reasoning', id: 'rs_1', summary: [], encrypted_content: big }, { role: 'user', content: 'hi' }],
      [{ type: 'custom_tool_call_output', call_id: 'call_1', output: big }, { role: 'user', content: 'hi' }],
      [{ role: 'user', content: [{ type: 'input_file', filename: 'a.txt', file_data: `data:text/plain;base64,${big}` }] }],
    ];
    for (const input of inputs) {
      const res = await chat(h.url, { model: 'm', input, max_output_tokens: 16 }, { path: '/v1/responses' });
      // More than the bucket can ever hold: refused before any upstream call (400, not a retryable 429).
      expect(res.status, res.text).toBe(400);
      expect(res.json().error.message).toMatch(/reserves 1\d{5} tokens/);
      // Named in this API's terms: Responses has no max_tokens.
      expect(res.json().error.param).toBe('max_output_tokens');
      expect(res.json().error.message).toContain('Lower max_output_tokens');
      expect(res.json().error.message).not.toContain('max_tokens');
    }
    expect(fake.received).toHaveLength(0);
    // The bucket was not drained by the refusals: a small request still goes through.
    const ok = await chat(h.url, { model: 'm', input: 'hi', max_output_tokens: 16 }, { path: '/v1/responses' });
    expect(ok.status, ok.text).toBe(200);
  });
});
