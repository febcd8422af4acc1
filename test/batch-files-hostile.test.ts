/**
 * Hostile uploads to POST /v1/files: each is refused with a 400/413 naming what is wrong, at the
 * byte that breaks the rule (the rest of the body is not read: the connection is closed), and
 * nothing is stored. Embedded database and PostgreSQL.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { get, KEY, pollUntil } from './helpers/harness.js';
import { chatLine, multipart, startBatchHarness, type BatchHarness } from './helpers/batches.js';
import { sharedPostgresAvailable } from './helpers/postgres.js';

const pgAvailable = await sharedPostgresAvailable();
const MB = 1024 * 1024;

interface RawAnswer {
  readonly status: number;
  readonly text: string;
  /** Body bytes the server took before it answered and closed. */
  readonly bodyBytesWritten: number;
  readonly closed: boolean;
}

/**
 * Sends an upload over a plain socket, piece by piece (waiting for the socket to drain, so the
 * count of bytes written follows what the server reads), until all is sent or the server has
 * answered; then reads the answer until the server closes (or 10 s).
 */
async function rawUpload(url: string, headers: Record<string, string>, body: AsyncIterable<Buffer>, options: { chunked?: boolean; contentLength?: number } = {}): Promise<RawAnswer> {
  const { hostname, port } = new URL(url);
  const socket = connect({ host: hostname, port: Number(port) });
  await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
  let received = '';
  let closed = false;
  socket.on('data', (d: Buffer) => (received += d.toString('latin1')));
  socket.on('close', () => (closed = true));
  socket.on('error', () => undefined);
  const framing = options.chunked ? { 'transfer-encoding': 'chunked' } : { 'content-length': String(options.contentLength) };
  const head = Object.entries({ host: 'x', authorization: `Bearer ${KEY}`, ...framing, ...headers }).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  socket.write(`POST /v1/files HTTP/1.1\r\n${head}\r\n`);
  let written = 0;
  for await (const piece of body) {
    if (closed || received.length > 0 || socket.destroyed) break;
    const data = options.chunked ? Buffer.concat([Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n')]) : piece;
    written += piece.length;
    if (!socket.write(data)) {
      await new Promise<void>((resolve) => {
        const done = (): void => {
          clearInterval(check);
          socket.off('drain', done);
          socket.off('close', done);
          resolve();
        };
        socket.once('drain', done);
        socket.once('close', done);
        // The server answered without reading on: stop waiting for a drain that will not come.
        const check = setInterval(() => received.length > 0 && done(), 20);
      });
    }
  }
  if (options.chunked && !closed && received.length === 0) socket.write('0\r\n\r\n');
  // Until the server closes, or the whole answer (its Content-Length) is in.
  const complete = (): boolean => {
    const end = received.indexOf('\r\n\r\n');
    const length = /\r\ncontent-length: (\d+)/i.exec(received)?.[1];
    return end !== -1 && length !== undefined && received.length - end - 4 >= Number(length);
  };
  await pollUntil(() => closed || complete(), 10_000);
  // An answer that closes the connection: give the close a moment to arrive.
  if (/\r\nconnection: close/i.test(received)) await pollUntil(() => closed, 2_000);
  socket.destroy();
  const status = Number(/^HTTP\/1\.1 (\d{3})/.exec(received)?.[1] ?? 0);
  return { status, text: received.slice(received.indexOf('\r\n\r\n') + 4), bodyBytesWritten: written, closed };
}

/** `total` bytes of `fill` in pieces of 64 KiB. */
function* bytes(total: number, fill = 'x'): Generator<Buffer> {
  const piece = Buffer.alloc(64 * 1024, fill);
  for (let sent = 0; sent < total; sent += piece.length) yield sent + piece.length <= total ? piece : piece.subarray(0, total - sent);
}

/** `n` request lines. */
function* lines(n: number, line: (i: number) => string = (i) => chatLine(`id-${i}`)): Generator<string> {
  let batch = '';
  for (let i = 0; i < n; i++) {
    batch += `${line(i)}\n`;
    if (batch.length > 60_000) {
      yield batch;
      batch = '';
    }
  }
  if (batch) yield batch;
}

async function upload(h: BatchHarness, parts: Iterable<Buffer | string>, fields: Record<string, string> = { purpose: 'batch' }, options: { chunked?: boolean } = { chunked: true }): Promise<RawAnswer> {
  const form = multipart({ parts }, fields);
  return rawUpload(h.url, { 'content-type': form.contentType }, form.body(), options);
}

async function collect(pieces: AsyncIterable<Buffer>): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for await (const p of pieces) out.push(p);
  return out;
}

const errorOf = (a: RawAnswer): { code: string; message: string; param: string | null } => JSON.parse(a.text).error;

describe.each(['embedded', 'postgres'] as const)('hostile uploads (%s)', (driver) => {
  const skip = driver === 'postgres' && !pgAvailable;
  let h: BatchHarness;
  beforeAll(async () => {
    if (!skip) h = await startBatchHarness(driver);
  }, 60_000);
  afterAll(async () => {
    await h?.close();
  });

  const nothingStored = async (): Promise<void> => {
    const res = await get(h.url, '/v1/files');
    expect(res.status).toBe(200);
    expect(res.json().data).toEqual([]);
  };

  it.skipIf(skip)('60 MB declared by Content-Length: 413 before the body is read', async () => {
    const form = multipart({ parts: bytes(60 * MB) }, { purpose: 'batch' });
    const answer = await rawUpload(h.url, { 'content-type': form.contentType }, form.body(), { contentLength: 60 * MB + 400 });
    expect(answer.status).toBe(413);
    expect(errorOf(answer)).toMatchObject({ code: 'request_too_large', message: expect.stringContaining('batches.maxFileBytes') });
    expect(answer.closed).toBe(true);
    expect(answer.bodyBytesWritten).toBeLessThan(20 * MB);
    await nothingStored();
  }, 60_000);

  it.skipIf(skip)('60 MB chunked: 413 once 50 MB (batches.maxFileBytes) are read, the rest never read, nothing stored', async () => {
    // 10,000 lines of 6 KB (fewer than batches.maxLines): 60 MB.
    const answer = await upload(h, lines(10_000, (i) => chatLine(`id-${i}`, { pad: 'p'.repeat(6 * 1024) })));
    expect(answer.status).toBe(413);
    expect(errorOf(answer).code).toBe('request_too_large');
    // What the server read, plus what socket buffers hold: well short of the 60 MB.
    expect(answer.bodyBytesWritten).toBeLessThan(58 * MB);
    await nothingStored();
  }, 60_000);

  it.skipIf(skip)('50,001 lines: 400 naming batches.maxLines and the line', async () => {
    const answer = await upload(h, lines(50_001, (i) => JSON.stringify({ custom_id: String(i), method: 'POST', url: '/v1/chat/completions', body: { model: 'm' } })));
    expect(answer.status).toBe(400);
    expect(errorOf(answer).message).toMatch(/more than 50000 requests \(batches\.maxLines\)/);
    await nothingStored();
  }, 60_000);

  it.skipIf(skip)('a line of 30 MB: 400 naming the line and the limit (server.bodyLimitBytes), refused before the line is buffered whole', async () => {
    const answer = await upload(h, [`${chatLine('a')}\n{"custom_id":"b","pad":"`, ...bytes(30 * MB), '"}\n']);
    expect(answer.status).toBe(400);
    expect(errorOf(answer)).toMatchObject({ param: 'file', message: expect.stringMatching(/^Line 2 is longer than 10485760 bytes/) });
    // Read up to the 10 MiB limit, plus what socket buffers hold.
    expect(answer.bodyBytesWritten).toBeLessThan(25 * MB);
    await nothingStored();
  }, 60_000);

  it.skipIf(skip)('invalid JSON on line 7: the error names line 7', async () => {
    const good = Array.from({ length: 10 }, (_, i) => chatLine(`c${i}`));
    good[6] = '{"custom_id": "c6", "method": "POST",';
    const answer = await upload(h, [good.join('\n')]);
    expect(answer.status).toBe(400);
    expect(errorOf(answer)).toMatchObject({ code: 'invalid_request', message: expect.stringMatching(/^Line 7: this line is not valid JSON/) });
    await nothingStored();
  });

  it.skipIf(skip)('a repeated custom_id, a missing body, __proto__, a non-object line: each named by line', async () => {
    const cases: Array<[string[], RegExp, string]> = [
      [[chatLine('a'), chatLine('b'), chatLine('a')], /^Line 3: custom_id "a" is used by an earlier line/, 'custom_id'],
      [[chatLine('a'), JSON.stringify({ custom_id: 'b', method: 'POST', url: '/v1/chat/completions' })], /^Line 2: body must be a JSON object/, 'body'],
      [[chatLine('a'), '{"custom_id":"b","method":"POST","url":"/v1/chat/completions","body":{"__proto__":{"x":1}}}'], /^Line 2: this line is not valid JSON/, 'file'],
      [['[1,2]'], /^Line 1: each line must be a JSON object/, 'file'],
      [[JSON.stringify({ custom_id: '', method: 'POST', url: '/v1/chat/completions', body: {} })], /^Line 1: custom_id must be a non-empty string/, 'custom_id'],
    ];
    for (const [content, message, param] of cases) {
      const answer = await upload(h, [content.join('\n')]);
      expect(answer.status, content.join('\n')).toBe(400);
      expect(errorOf(answer)).toMatchObject({ message: expect.stringMatching(message), param });
    }
    await nothingStored();
  });

  it.skipIf(skip)('not multipart, no purpose, no file, two files, an empty file: 400s naming the field', async () => {
    const json = await rawUpload(h.url, { 'content-type': 'application/json' }, (async function* () {
      yield Buffer.from('{"purpose":"batch"}');
    })(), { contentLength: 19 });
    expect(json.status).toBe(400);
    expect(errorOf(json).code).toBe('unsupported_media_type');

    const noPurpose = await upload(h, [chatLine('a')], {});
    expect(noPurpose.status).toBe(400);
    expect(errorOf(noPurpose).param).toBe('purpose');

    const noFile = multipart(undefined, { purpose: 'batch' });
    const answer = await rawUpload(h.url, { 'content-type': noFile.contentType }, noFile.body(), { chunked: true });
    expect(answer.status).toBe(400);
    expect(errorOf(answer).param).toBe('file');

    const second = multipart({ name: 'other', parts: [chatLine('a')] }, { purpose: 'batch' });
    const two = await rawUpload(h.url, { 'content-type': second.contentType }, second.body(), { chunked: true });
    expect(two.status).toBe(400);
    expect(errorOf(two).param).toBe('file');

    const empty = await upload(h, ['\n\n']);
    expect(empty.status).toBe(400);
    expect(errorOf(empty).message).toMatch(/no requests/);
    await nothingStored();
  });

  it.skipIf(skip)('an upload without a key: 401 without reading the body', async () => {
    const form = multipart({ parts: [chatLine('a')] }, { purpose: 'batch' });
    const res = await fetch(`${h.url}/v1/files`, { method: 'POST', headers: { 'content-type': form.contentType }, body: Buffer.concat(await collect(form.body())) });
    expect(res.status).toBe(401);
    await nothingStored();
  });
});

describe('a slow-loris upload', () => {
  it('gets 408 within server.requestTimeoutMs (+ the 1 s check), is closed, and stores nothing', async () => {
    const h = await startBatchHarness('embedded', { config: { server: { headersTimeoutMs: 1_500, requestTimeoutMs: 1_500 } } });
    try {
      const form = multipart({ parts: [chatLine('a')] }, { purpose: 'batch' });
      const started = Date.now();
      const answer = await rawUpload(
        h.url,
        { 'content-type': form.contentType },
        (async function* () {
          const [head] = await collect(form.body());
          yield head!;
          // Then a byte every 200 ms, for ever.
          for (;;) {
            await new Promise((r) => setTimeout(r, 200));
            yield Buffer.from('{');
          }
        })(),
        { chunked: true },
      );
      expect(answer.status).toBe(408);
      expect(answer.closed).toBe(true);
      expect(Date.now() - started).toBeLessThan(8_000);
      const res = await get(h.url, '/v1/files');
      expect(res.json().data).toEqual([]);
    } finally {
      await h.close();
    }
  }, 30_000);
});
