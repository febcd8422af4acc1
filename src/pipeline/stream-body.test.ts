import { describe, expect, it } from 'vitest';
import type { StreamTranslator } from '../providers/types.js';
import type { UpstreamBody } from '../upstream/streamed-response.js';
import { drainAfterDone, translateBody } from './stream-body.js';

const doneOnDoneEvent: StreamTranslator<string> = {
  onEvent: (e) => (e.data === '[DONE]' ? { chunks: [], done: true } : { chunks: [e.data], done: false }),
  onEnd: () => ({ chunks: [], done: true }),
  usage: () => undefined as never,
};

/** A body that serves `next(n)` for its n-th read (null: the end), and records being destroyed. */
function bodyOf(next: (n: number) => Buffer | null): UpstreamBody & { served: number; destroyed: boolean } {
  return {
    served: 0,
    destroyed: false,
    read() {
      if (this.destroyed) return Promise.reject(new Error('destroyed'));
      const piece = next(++this.served);
      return Promise.resolve(piece === null ? null : [piece]);
    },
    destroy() {
      this.destroyed = true;
    },
  };
}

describe('translateBody after the done step', () => {
  it('reads at most drainAfterDone.maxBytes more, then stops and destroys the body', async () => {
    const piece = Buffer.from(`: ${'x'.repeat(16 * 1024)}\n\n`);
    // An upstream that keeps talking after its last event (16 MiB of comments).
    const body = bodyOf((n) => (n === 1 ? Buffer.from('data: hi\n\ndata: [DONE]\n\n') : n > 1_000 ? null : piece));
    const rest = translateBody(body, doneOnDoneEvent, 'sse');
    const first = await rest.next();
    expect(first.value).toMatchObject({ chunks: ['hi'], done: true });
    expect((await rest.next()).done).toBe(true);
    expect(body.destroyed).toBe(true);
    expect((body.served - 1) * piece.length).toBeLessThan(drainAfterDone.maxBytes + 4 * piece.length);
  });

  it('reads a body that ends after the done step to its end, without destroying it', async () => {
    const body = bodyOf((n) => (n === 1 ? Buffer.from('data: hi\n\ndata: [DONE]\n\n') : n === 2 ? Buffer.from(': bye\n\n') : null));
    const rest = translateBody(body, doneOnDoneEvent, 'sse');
    expect((await rest.next()).value).toMatchObject({ chunks: ['hi'], done: true });
    expect((await rest.next()).done).toBe(true);
    expect(body.served).toBe(3);
    expect(body.destroyed).toBe(false);
  });

  it('destroys the body when returned early', async () => {
    const body = bodyOf((n) => (n === 1 ? Buffer.from('data: hi\n\n') : Buffer.from('data: more\n\n')));
    const rest = translateBody(body, doneOnDoneEvent, 'sse');
    expect((await rest.next()).value).toMatchObject({ chunks: ['hi'], done: false });
    await rest.return(undefined);
    expect(body.destroyed).toBe(true);
  });
});
