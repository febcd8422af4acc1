/**
 * A batch's output file is built from its items as it is sent: chunked (its size is not known
 * beforehand), whole and in order for a client that reads it, and a client that stops reading is
 * disconnected after the write-stall timeout (timeouts.idleMs) instead of having the file built
 * into memory for it.
 */
import { connect } from 'node:net';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chatLine, startBatchHarness, type BatchHarness } from './helpers/batches.js';
import { KEY, pollUntil } from './helpers/harness.js';

const ITEMS = 1_000;
const PAD = 'x'.repeat(24_000);

describe('output file content', () => {
  let h: BatchHarness;
  let outputFileId: string;
  beforeAll(async () => {
    h = await startBatchHarness('embedded', {
      outcome: (customId, line) => ({ kind: 'response', statusCode: 200, requestId: `r${line}`, body: { id: customId, pad: PAD }, costPico: 1n }),
      config: { timeouts: { idleMs: 1_000 } },
    });
    const auth = { authorization: `Bearer ${KEY}` };
    const boundary = 'b0undary';
    const body = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="in.jsonl"\r\n\r\n${Array.from({ length: ITEMS }, (_, i) => chatLine(`c${i}`)).join('\n')}\r\n--${boundary}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${boundary}--\r\n`;
    const file = await (await request(`${h.url}/v1/files`, { method: 'POST', headers: { ...auth, 'content-type': `multipart/form-data; boundary=${boundary}` }, body })).body.json() as { id: string };
    const created = await (await request(`${h.url}/v1/batches`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: JSON.stringify({ input_file_id: file.id, endpoint: '/v1/chat/completions', completion_window: '24h' }) })).body.json() as { id: string };
    let batch: { status: string; output_file_id: string | null } = { status: '', output_file_id: null };
    for (const deadline = Date.now() + 60_000; batch.status !== 'completed' && Date.now() < deadline; await new Promise((r) => setTimeout(r, 100))) {
      batch = await (await request(`${h.url}/v1/batches/${created.id}`, { headers: auth })).body.json() as typeof batch;
    }
    expect(batch.status).toBe('completed');
    outputFileId = batch.output_file_id!;
  }, 120_000);
  afterAll(async () => {
    await h?.close();
  });

  it('is sent chunked, whole and in input order', async () => {
    const res = await request(`${h.url}/v1/files/${outputFileId}/content`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(res.statusCode).toBe(200);
    expect(res.headers['transfer-encoding']).toBe('chunked');
    expect(res.headers['content-length']).toBeUndefined();
    const lines = (await res.body.text()).trim().split('\n');
    expect(lines).toHaveLength(ITEMS);
    expect(lines.map((l) => JSON.parse(l).custom_id)).toEqual(Array.from({ length: ITEMS }, (_, i) => `c${i}`));
  }, 60_000);

  it('a client that stops reading is disconnected after timeouts.idleMs; the gateway goes on serving', async () => {
    const { hostname, port } = new URL(h.url);
    const socket = connect({ host: hostname, port: Number(port) });
    let received = 0;
    let tail = '';
    let closed = false;
    socket.on('data', (d: Buffer) => {
      received += d.length;
      tail = (tail + d.toString('latin1')).slice(-16);
      // The head and a little of the body, then nothing more is read for a while.
      if (received > 64 * 1024 && !resumed) socket.pause();
    });
    let resumed = false;
    socket.on('close', () => (closed = true));
    socket.on('error', () => undefined);
    socket.write(`GET /v1/files/${outputFileId}/content HTTP/1.1\r\nhost: x\r\nauthorization: Bearer ${KEY}\r\n\r\n`);
    // ~25 MB of output; socket buffers hold a few MB: the gateway stalls, and gives up after 1 s.
    await new Promise((r) => setTimeout(r, 4_000));
    resumed = true;
    socket.resume();
    // What the buffers held arrives, then the end: the connection closed, the body cut short.
    expect(await pollUntil(() => closed, 10_000)).toBe(true);
    expect(received).toBeLessThan(24 * 1024 * 1024);
    expect(tail.endsWith('0\r\n\r\n')).toBe(false);
    socket.destroy();
    const again = await request(`${h.url}/v1/files/${outputFileId}`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(again.statusCode).toBe(200);
    await again.body.dump();
  }, 30_000);
});
