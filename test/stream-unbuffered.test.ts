/**
 * Chunks are never buffered (issue 17, "Stream: … chunks never buffered"): each content chunk
 * reaches the client before the upstream has sent the next one. The upstream here sends one
 * content chunk and then waits until the client has received it through the gateway before it
 * sends the rest; a gateway that held chunks back (for a batch, a byte count or the end of the
 * stream) would leave the client waiting until the upstream's own wait ran out, and the test
 * sees that order. Real sockets both sides; the gateway runs with its defaults.
 */
import { createServer, request, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { KEY, startHarness, type Harness } from './helpers/harness.js';

let h: Harness | undefined;
let upstream: Server | undefined;

afterEach(async () => {
  await h?.close();
  h = undefined;
  upstream?.closeAllConnections();
  await new Promise<void>((resolve) => (upstream ? upstream.close(() => resolve()) : resolve()));
  upstream = undefined;
});

const chunk = (delta: Record<string, unknown>, extra: Record<string, unknown> = {}) =>
  `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'up', choices: [{ index: 0, delta, finish_reason: null }], ...extra })}\n\n`;

/** An OpenAI upstream that sends `first`, then waits for `released` (at most `waitMs`) before the rest. */
async function gatedUpstream(released: Promise<void>, waitMs: number): Promise<{ port: number; order: string[] }> {
  const order: string[] = [];
  upstream = createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      res.write(chunk({ role: 'assistant', content: '' }));
      res.write(chunk({ content: 'first' }));
      order.push('upstream sent first');
      const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('upstream gave up waiting'), waitMs).unref());
      void Promise.race([released.then(() => 'client had first'), timeout]).then((why) => {
        order.push(why);
        res.write(chunk({ content: 'second' }));
        res.write(`data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'up', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 3, completion_tokens: 2, total_tokens: 5 } })}\n\n`);
        res.end('data: [DONE]\n\n');
      });
    });
  });
  await new Promise<void>((resolve) => upstream!.listen(0, '127.0.0.1', resolve));
  return { port: (upstream.address() as AddressInfo).port, order };
}

describe('streamed chunks are forwarded as they arrive', () => {
  it('the client receives a content chunk before the upstream sends the next one', async () => {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    const { port, order } = await gatedUpstream(released, 3_000);
    h = await startHarness({
      config: () => ({
        deployments: { up: { provider: 'openai', baseUrl: `http://127.0.0.1:${port}/v1` } },
        models: { m: { targets: [{ deployment: 'up', model: 'up' }] } },
      }),
    });
    const url = new URL('/v1/chat/completions', h.url);
    const body = JSON.stringify({ model: 'm', stream: true, messages: [{ role: 'user', content: 'hi' }] });
    const text = await new Promise<string>((resolve, reject) => {
      const req = request(url, { method: 'POST', headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' } }, (res) => {
        let seen = '';
        res.setEncoding('utf8');
        res.on('data', (piece: string) => {
          seen += piece;
          if (seen.includes('"first"') && !order.includes('client had first') && !order.includes('upstream gave up waiting')) {
            order.push('client got first');
            release();
          }
        });
        res.on('end', () => resolve(seen));
        res.on('error', reject);
      });
      req.on('error', reject);
      req.end(body);
    });
    expect(order).toEqual(['upstream sent first', 'client got first', 'client had first']);
    expect(text).toContain('"second"');
    expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
  });
});
