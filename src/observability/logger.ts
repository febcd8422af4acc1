import { pino, type Logger } from 'pino';
import { pinoPretty } from '../lazy-packages.js';

export type LogFormat = 'auto' | 'json' | 'pretty';

export interface LoggerOptions {
  readonly level: string;
  readonly format: LogFormat;
  /** Where lines go; defaults to stdout. */
  readonly destination?: NodeJS.WritableStream;
}

/**
 * Where a secret could sit if a header or config object slipped into a log call. Explicit paths
 * only: pino's wildcard paths (`*.authorization`) walk every field of every line, which doubled
 * the cost of a log line (bench/analysis.md).
 */
export const redactPaths = [
  'authorization',
  'apiKey',
  'api-key',
  'x-api-key',
  'cookie',
  'headers.authorization',
  'headers.cookie',
  'headers["api-key"]',
  'headers["x-api-key"]',
  'deployment.apiKey',
];

/**
 * Structured JSON logs, or human-readable lines on a terminal. Log calls pass allow-listed
 * fields only; the redaction list is a second guard in case a header object ever slips in.
 */
export function createLogger(options: LoggerOptions): Logger {
  const destination = options.destination ?? process.stdout;
  const usePretty = options.format === 'pretty' || (options.format === 'auto' && (destination as { isTTY?: boolean }).isTTY === true);
  const base = {
    level: options.level,
    base: { service: 'llm-gateway' },
    redact: { paths: redactPaths, censor: '[redacted]' },
  };
  if (usePretty) {
    return pino(base, pinoPretty()({ destination, colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname,service', sync: true }));
  }
  // process.stdout is synchronous on a pipe (the usual case in a container): one write syscall
  // per access-log line on the event loop was ~10 % of the gateway's CPU under load, and one
  // asynchronous write per line still ~6 %. Lines are batched into writes of 32 KB or more and
  // flushed at least every 250 ms (so a quiet gateway's lines are never held longer), and pino
  // flushes the rest synchronously on exit. Each write costs the event loop a wake-up of a
  // thread-pool thread that shares its core: with 4 KB batches (8 lines) the writes were 16-20 %
  // of the gateway's CPU profile under load, with 32 KB 5-8 % (bench/profile.mjs, writeBuffer).
  return pino(base, options.destination ?? batchedStdout());
}

/**
 * Most bytes of log lines waiting for standard output. When nobody reads it (a stalled log
 * collector), lines past this are dropped and counted (`gateway_log_lines_dropped_total`)
 * instead of queued in memory until the process is killed for it.
 */
const maxPendingLogBytes = 16 * 1024 * 1024;
let droppedLines = 0;

/** Log lines dropped so far because standard output was not being read (see maxPendingLogBytes). */
export function droppedLogLines(): number {
  return droppedLines;
}

/**
 * Standard output as pino's SonicBoom in buffer mode, each line handed over as a Buffer. In its
 * default string mode SonicBoom appends each line to one growing string and measures all of it
 * (Buffer.byteLength) on every write, then converts each batch back to a Buffer once written:
 * under load that copied ~5 KB per request line (bench/profile.mjs --alloc, node:buffer
 * byteLength). Here a line is encoded once and batches are concatenated once per write.
 * Same bytes, same synchronous flush on exit (pino registers it).
 */
function batchedStdout(): { write(line: string): boolean; flush(cb?: (err?: Error) => void): void; flushSync(): void } {
  const sonic = pino.destination({ dest: 1, sync: false, minLength: 32 * 1024, maxWrite: 64 * 1024, maxLength: maxPendingLogBytes, periodicFlush: 250, contentMode: 'buffer' });
  sonic.on('drop', () => droppedLines++);
  return {
    write: (line) => sonic.write(Buffer.from(line, 'utf8') as unknown as string),
    flush: (cb) => sonic.flush(cb),
    flushSync: () => sonic.flushSync(),
  };
}
