/**
 * Attack on the chat → Responses stream translation with a hostile chat upstream (issue 16):
 * the translator keeps every character of text and tool arguments (the `.done` events and
 * `response.completed` repeat them), so a 210 MB chat stream took the gateway's RSS from 150 MB
 * to 1 GB (the same stream on /v1/chat/completions: 181 MB) and ended as an internal_error. Now
 * a stream past `maxStreamOutputChars` (the largest JSON answer an upstream may send) ends with
 * one numbered `error` event, counted as the upstream's fault.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { maxStreamOutputChars } from '../../src/api/responses-from-chat.js';
import { dispatcherOption, KEY, parseMetrics, startHarness, type Harness } from '../helpers/harness.js';
import { responsesEvents } from '../helpers/responses-sse.js';

let h: Harness | undefined;
let server: Server | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
  await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  server = undefined;
});

const chunk = (delta: Record<string, unknown>, finish: string | null = null): string => `data: ${JSON.stringify({ id: 'c1', object: 'chat.completion.chunk', created: 1, model: 'x', choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;

/** A chat upstream streaming `pieces` deltas of 64 KiB (text, or the arguments of one tool call), as fast as the gateway reads. */
async function floodingUpstream(pieces: number, kind: 'text' | 'arguments'): Promise<string> {
  const piece = 'x'.repeat(64 * 1024);
  const delta = Buffer.from(chunk(kind === 'text' ? { content: piece } : { tool_calls: [{ index: 0, function: { arguments: piece } }] }));
  server = createServer((req, res) => {
    req.resume();
    req.on('end', async () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk(kind === 'text' ? { role: 'assistant', content: '' } : { role: 'assistant', tool_calls: [{ index: 0, id: 'call_1', type: 'function', function: { name: 'f', arguments: '' } }] }));
      for (let i = 0; i < pieces && !res.destroyed; i++) if (!res.write(delta)) await new Promise((resolve) => res.once('drain', resolve).once('close', resolve));
      res.end(`${chunk({}, 'stop')}data: [DONE]\n\n`);
    });
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('attack: a chat upstream floods a translated /v1/responses stream', () => {
  for (const kind of ['text', 'arguments'] as const) {
    it(`${kind} past the bound: one numbered error event, no response.completed, outcome upstream_error`, async () => {
      const pieces = Math.ceil(maxStreamOutputChars / (64 * 1024)) + 16;
      const url = await floodingUpstream(pieces, kind);
      h = await startHarness({ config: () => ({ retry: { maxAttempts: 1 }, timeouts: { totalMs: 30_000 }, deployments: { c: { provider: 'vllm', baseUrl: url } }, models: { c: { targets: [{ deployment: 'c', model: 'x' }] } } }) });
      const res = await request(`${h.url}/v1/responses`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ model: 'c', input: 'hi', stream: true }),
        ...dispatcherOption(h.url),
      });
      expect(res.statusCode).toBe(200);
      const events = responsesEvents(await res.body.text()).map((e) => e.data);
      expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
      expect(events.filter((e) => e.type === 'error')).toHaveLength(1);
      expect(events.at(-1)).toMatchObject({ type: 'error', code: 'upstream_error' });
      expect(events.at(-1)!.message).toMatch(/exceed/);
      expect(events.some((e) => e.type === 'response.completed')).toBe(false);
      const outcomes = parseMetrics(await h.gateway.metrics.text()).filter((s) => s.name === 'gateway_requests_total');
      expect(outcomes.map((s) => [s.labels.outcome, s.value])).toEqual([['upstream_error', 1]]);
    });
  }
});
