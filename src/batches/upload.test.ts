import type { IncomingMessage } from 'node:http';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors/gateway-error.js';
import { receiveUpload, UploadMemory, type UploadLimits } from './upload.js';

const boundary = 'xyzBOUNDARY';
const line = (id: string): string => JSON.stringify({ custom_id: id, method: 'POST', url: '/v1/chat/completions', body: { model: 'm' } });

/** A request whose multipart body is written by the test, piece by piece. */
function request(): { req: IncomingMessage; body: PassThrough } {
  const body = new PassThrough();
  const req = Object.assign(body, { headers: { 'content-type': `multipart/form-data; boundary=${boundary}` } }) as unknown as IncomingMessage;
  return { req, body };
}
const head = `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="in.jsonl"\r\n\r\n`;
const tail = `\r\n--${boundary}\r\ncontent-disposition: form-data; name="purpose"\r\n\r\nbatch\r\n--${boundary}--\r\n`;

describe('receiveUpload', () => {
  const limits = (memory: UploadMemory): UploadLimits => ({ maxFileBytes: 1_000_000, maxLines: 100, maxLineBytes: 10_000, memory });

  it('holds the file in the shared memory budget until released', async () => {
    const memory = new UploadMemory(1_000_000);
    const { req, body } = request();
    const got = receiveUpload(req, limits(memory));
    body.end(`${head}${line('a')}\n${line('b')}\n${tail}`);
    const upload = await got;
    expect(upload).toMatchObject({ filename: 'in.jsonl', lines: 2 });
    expect(upload.content.toString()).toBe(`${line('a')}\n${line('b')}\n`);
    expect(memory.heldBytes).toBeGreaterThan(0);
    upload.release();
    expect(memory.heldBytes).toBe(0);
  });

  it('an upload that would pass the budget is refused (uploads_busy) and gives back what it held; the others go on', async () => {
    const memory = new UploadMemory(3_000);
    const first = request();
    const second = request();
    const a = receiveUpload(first.req, limits(memory));
    const b = receiveUpload(second.req, limits(memory));
    first.body.write(`${head}${line('a')}\n`.padEnd(2_000, ' '));
    await new Promise((r) => setImmediate(r));
    second.body.write(`${head}${line('b')}\n`.padEnd(2_000, ' '));
    const refused = await b.catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).code).toBe('uploads_busy');
    first.body.end(`\n${line('c')}\n${tail}`);
    const upload = await a;
    expect(upload.lines).toBe(2);
    upload.release();
    expect(memory.heldBytes).toBe(0);
  });

  it('a refused line gives back the memory of the upload', async () => {
    const memory = new UploadMemory(1_000_000);
    const { req, body } = request();
    const got = receiveUpload(req, limits(memory));
    body.write(`${head}${line('a')}\n{not json}\n`);
    const err = await got.catch((e: unknown) => e);
    expect((err as GatewayError).message).toMatch(/^Line 2: this line is not valid JSON/);
    expect(memory.heldBytes).toBe(0);
  });
});
