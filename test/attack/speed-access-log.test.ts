/**
 * Attack on the access log's reused fragments (issue 17: each repeating field's JSON text is
 * made once per value, at most 256 values a field, then made afresh). Over HTTP no client text
 * reaches those fields (an unknown model is logged as "unknown", upstream model names are
 * checked first), so this feeds the writer directly what a broken configuration or a future
 * caller could: strings JSON must escape (quotes, backslashes, control characters, U+2028,
 * lone surrogates), names of Object.prototype, text that would close the field, more than 256
 * values in turn and the same value on neighbouring fields. Every line must parse, be one
 * line, and carry its own event's values.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { accessLogWriter } from '../../src/observability/access-log.js';
import type { RequestFinishedEvent } from '../../src/observability/events.js';
import { createLogger } from '../../src/observability/logger.js';

const hostile = ['"', '\\', '\n', '\u0000\u001f', '\u2028\u2029', '\ud800', 'x\udc00y', '__proto__', 'constructor', 'hasOwnProperty', '","level":60,"x":"', '🙂', 'é', ''];

function event(i: number): RequestFinishedEvent {
  const v = (k: number): string => (i % 5 === 0 ? (hostile[(i + k) % hostile.length] as string) : `v${(i * 7 + k) % 700}${hostile[(i + k) % hostile.length]}`);
  return {
    requestId: `req-${i}`,
    route: v(0),
    operation: 'chat',
    tenant: v(1),
    model: v(2),
    servedModel: v(3),
    deployment: v(4),
    attempts: 1,
    status: 200,
    outcome: v(5) as RequestFinishedEvent['outcome'],
    errorCode: v(6),
    stream: false,
    durationMs: 1,
    timeToFirstTokenMs: undefined,
    upstreamMs: 1,
    usage: undefined,
    upstream: { genAiProvider: 'openai', upstreamModel: 'x', responseModel: v(7), serverAddress: 'h', serverPort: 1 },
  } as RequestFinishedEvent;
}

describe('attack: the access log fragments with hostile values', () => {
  it('3000 lines cycling over 700+ values a field, hostile ones among them: each line parses and carries its own values', () => {
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString('utf8')));
    const write = accessLogWriter(createLogger({ level: 'info', format: 'json', destination: out }));
    const events = Array.from({ length: 3000 }, (_, i) => event(i));
    for (const e of events) write(e);
    const lines = text.split('\n').filter((l) => l.length > 0);
    expect(lines).toHaveLength(events.length);
    lines.forEach((line, i) => {
      const got = JSON.parse(line) as Record<string, unknown>;
      const e = events[i] as RequestFinishedEvent;
      expect(got.requestId).toBe(e.requestId);
      expect([got.route, got.tenant, got.model, got.servedModel, got.deployment, got.outcome, got.errorCode, got.upstreamModel]).toEqual([e.route, e.tenant, e.model, e.servedModel, e.deployment, e.outcome, e.errorCode, e.upstream?.responseModel]);
      expect(got.level).toBe(30);
    });
  });
});
