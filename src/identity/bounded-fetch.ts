/** Largest discovery document or JWKS accepted (real ones are a few KiB). */
export const maxDocumentBytes = 1024 * 1024;

/**
 * GETs a JSON document from the identity provider: no redirects (a redirect could lead the key
 * fetch elsewhere), status 200 only, at most `maxBytes` read, everything (headers and body)
 * within `signal`. Throws an Error whose message names the URL and what went wrong, for logs.
 */
export async function fetchJson(url: URL, signal: AbortSignal, maxBytes = maxDocumentBytes): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, { method: 'GET', redirect: 'error', signal, headers: { accept: 'application/json, application/jwk-set+json' } });
  } catch (err) {
    throw new Error(`${url.href}: ${signal.aborted ? 'timed out' : `request failed (${errorName(err)})`}`);
  }
  const body = response.body;
  try {
    if (response.status !== 200) throw new Error(`${url.href}: HTTP ${response.status}, expected 200`);
    const declared = Number(response.headers.get('content-length') ?? '0');
    if (declared > maxBytes) throw new Error(`${url.href}: body of ${declared} bytes exceeds ${maxBytes}`);
    const text = await readCapped(body, maxBytes, url);
    try {
      return JSON.parse(text) as unknown;
    } catch {
      throw new Error(`${url.href}: body is not JSON`);
    }
  } catch (err) {
    // Frees the connection when the body was not (fully) read.
    await body?.cancel().catch(() => undefined);
    if (signal.aborted) throw new Error(`${url.href}: timed out`);
    throw err;
  }
}

async function readCapped(body: ReadableStream<Uint8Array> | null, maxBytes: number, url: URL): Promise<string> {
  if (body === null) return '';
  const chunks: Uint8Array[] = [];
  let total = 0;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      total += value.byteLength;
      if (total > maxBytes) throw new Error(`${url.href}: body exceeds ${maxBytes} bytes`);
      chunks.push(value);
    }
  } finally {
    reader.releaseLock();
  }
  return Buffer.concat(chunks, total).toString('utf8');
}

function errorName(err: unknown): string {
  const cause = err instanceof Error && err.cause instanceof Error ? err.cause : err;
  return cause instanceof Error ? ((cause as { code?: unknown }).code?.toString() ?? cause.name) : 'unknown error';
}
