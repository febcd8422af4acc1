import { Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { describe, expect, it } from 'vitest';
import type { StreamTranslator } from '../providers/types.js';
import { drainAfterDone, translateBody } from './stream-body.js';

const doneOnDoneEvent: StreamTranslator<string> = {
  onEvent: (e) => (e.data === '[DONE]' ? { chunks: [], done: true } : { chunks: [e.data], done: false }),
  onEnd: () => ({ chunks: [], done: true }),
  usage: () => undefined as never,
};

describe('translateBody after the done step', () => {
  it('reads at most drainAfterDone.maxBytes more, then stops and destroys the body', async () => {
    let served = 0;
    const piece = Buffer.from(`: ${'x'.repeat(16 * 1024)}\n\n`);
    const body = new Readable({
      read() {
        // An upstream that keeps talking after its last event (16 MiB of comments).
        served++;
        this.push(served === 1 ? Buffer.from('data: hi\n\ndata: [DONE]\n\n') : served > 1_000 ? null : piece);
      },
    });
    const rest = translateBody(body as unknown as Dispatcher.ResponseData['body'], doneOnDoneEvent, 'sse');
    const first = await rest.next();
    expect(first.value).toMatchObject({ chunks: ['hi'], done: true });
    expect((await rest.next()).done).toBe(true);
    expect(body.destroyed).toBe(true);
    expect((served - 1) * piece.length).toBeLessThan(drainAfterDone.maxBytes + 4 * piece.length);
  });
});
