/**
 * What a fake upstream does: its normal behaviour and the faults a test can queue. Plain data,
 * so tests, the demo and the CLI can all build scripts without touching sockets.
 */

/** The wire protocols a fake upstream can speak. */
export type FakeDialectName = 'openai' | 'triton' | 'gemini' | 'ollama' | 'bedrock' | 'anthropic';

/** Normal (non-fault) answers. All durations are milliseconds. */
export interface Behaviour {
  /** Delay before response headers. */
  latencyMs: number;
  /** Extra delay before the first stream chunk. */
  ttftMs: number;
  /** Delay between stream chunks. */
  chunkIntervalMs: number;
  /** Content pieces the reply is split into (≥ 1). */
  chunks: number;
  /** Fixed reply text; undefined: deterministic text naming the fake and echoing the prompt's start. */
  reply: string | undefined;
  /** 0..1: probability that an inference request gets a 500 (drawn from the seeded random). */
  failureRate: number;
  /** Seed of the random used by `failureRate`; setting it restarts the sequence. */
  seed: number;
}

/**
 * One scripted fault, consumed by one inference request. "Chunks" are SSE events as written by
 * the fake: for OpenAI the role chunk is chunk 1, then one per content piece, then the finish
 * chunk, the usage chunk (if asked for) and `[DONE]`; for Triton one per content piece.
 */
export type Fault =
  /**
   * Answer with this status. Body default: the dialect's own error shape for that status; a
   * string body is sent verbatim as text/plain (e.g. a proxy's HTML page), anything else as JSON.
   */
  | { kind: 'status'; status: number; body?: unknown; headers?: Record<string, string> }
  /** Reset the connection (TCP RST) without answering. */
  | { kind: 'reset-before-headers' }
  /** Never answer, until the client aborts or the fake closes. */
  | { kind: 'hang' }
  /**
   * Stream: send k chunks, then close the socket abruptly (no chunked terminator). Non-stream:
   * send half the body promised by Content-Length, then close. It is a close, not an RST, because
   * an RST lets the kernels drop the bytes already sent, and tests rely on seeing exactly k chunks.
   */
  | { kind: 'reset-mid-stream'; afterChunks: number }
  /** Stream: send k chunks then nothing more, socket kept open. Non-stream: headers only. */
  | { kind: 'stall'; afterChunks: number }
  /**
   * Stream: send k chunks, then an in-band error in the dialect's format, then end the response
   * (OpenAI: `data: {"error":{...}}` and no `[DONE]`; Triton: `data: {"error":"..."}`).
   * Non-stream requests have no in-band errors, so they get a 500 in the dialect's shape.
   */
  | { kind: 'error-event'; afterChunks: number }
  /**
   * Stream: send k chunks (the whole stream, `[DONE]` included, when k is past its end), then
   * `frame` (default an SSE comment, `: keep-alive`) every `intervalMs` (default 100) until the
   * client leaves: a body that never ends but is never silent. Non-stream: headers only.
   */
  | { kind: 'trickle'; afterChunks: number; frame?: string; intervalMs?: number }
  /** Answer normally, but only after an extra `ms` before the headers. */
  | { kind: 'delay'; ms: number }
  /**
   * Answer 200 (or `status`) with these bytes verbatim, whatever the request asked: a recorded
   * stream or body replayed as the provider sent it. Written in pieces of `pieceBytes` bytes
   * (default: all at once), each a separate write, `chunkIntervalMs` apart.
   */
  | { kind: 'replay'; body: string | Uint8Array; contentType: string; pieceBytes?: number; status?: number };

/** The behaviour of a fake nobody configured: instant, four pieces, never failing. */
export const defaultBehaviour: Readonly<Behaviour> = Object.freeze({
  latencyMs: 0,
  ttftMs: 0,
  chunkIntervalMs: 0,
  chunks: 4,
  reply: undefined,
  failureRate: 0,
  seed: 1,
});

/** Merges a partial behaviour over a base; throws RangeError for out-of-range numbers. */
export function mergeBehaviour(base: Readonly<Behaviour>, patch: Partial<Behaviour>): Behaviour {
  const merged: Behaviour = { ...base };
  for (const [key, value] of Object.entries(patch) as Array<[keyof Behaviour, unknown]>) {
    // Keys present but undefined are skipped, except `reply`, where undefined is a real value:
    // it restores the default text.
    if (value !== undefined || key === 'reply') Object.assign(merged, { [key]: value });
  }
  const nonNegative = [merged.latencyMs, merged.ttftMs, merged.chunkIntervalMs];
  if (nonNegative.some((ms) => !Number.isFinite(ms) || ms < 0)) {
    throw new RangeError('latencyMs, ttftMs and chunkIntervalMs must be finite and >= 0');
  }
  if (!Number.isInteger(merged.chunks) || merged.chunks < 1) throw new RangeError('chunks must be an integer >= 1');
  if (!(merged.failureRate >= 0 && merged.failureRate <= 1)) throw new RangeError('failureRate must be in 0..1');
  if (!Number.isFinite(merged.seed)) throw new RangeError('seed must be a finite number');
  return merged;
}
