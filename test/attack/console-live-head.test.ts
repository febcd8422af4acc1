/**
 * HEAD /admin/v1/live, over a real socket: the router answers HEAD with the GET route, and the
 * live route opened a stream for it. A HEAD answer has no body, so the client took the headers
 * as the whole answer while the server never ended it: the stream held one of the 16 slots for
 * as long as the client kept the connection (a pooled client keeps it), and the next request
 * sent on that connection never got an answer. A HEAD now gets the head and its end, no slot.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { ADMIN_KEY, openStream, startAdminHarness, type OpenStream } from '../helpers/admin.js';
import type { Harness } from '../helpers/harness.js';

let h: Harness;
beforeAll(async () => {
  h = await startAdminHarness();
}, 60_000);
afterAll(async () => {
  await h?.close();
});

describe('HEAD /admin/v1/live', () => {
  it('answers the head, ends, holds no slot, and leaves the connection usable', async () => {
    const agent = new Agent({ connections: 1, pipelining: 1 });
    const open: OpenStream[] = [];
    try {
      for (let i = 0; i < 16; i++) {
        const head = await request(`${h.url}/admin/v1/live`, { method: 'HEAD', dispatcher: agent, headers: { authorization: `Bearer ${ADMIN_KEY}` }, headersTimeout: 5_000 });
        expect(head.statusCode).toBe(200);
        expect(head.headers['content-type']).toContain('text/event-stream');
        await head.body.dump();
      }
      // The same connection answers the next request.
      const next = await request(`${h.url}/admin/v1/me`, { dispatcher: agent, headers: { authorization: `Bearer ${ADMIN_KEY}` }, headersTimeout: 3_000, bodyTimeout: 3_000 });
      expect(next.statusCode).toBe(200);
      await next.body.dump();
      // And all 16 slots are free while the client keeps its connection.
      for (let i = 0; i < 16; i++) {
        const s = await openStream(h.url);
        open.push(s);
        expect(s.status, `stream ${i + 1}`).toBe(200);
      }
    } finally {
      for (const s of open) s.close();
      await agent.close().catch(() => undefined);
    }
  }, 30_000);
});
