import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { accessLogWriter } from './access-log.js';
import type { RequestFinishedEvent } from './events.js';
import { createLogger } from './logger.js';
import { formatUsd } from '../spend/money.js';

function capture(): { stream: PassThrough; lines: () => Array<Record<string, unknown>>; raw: () => string } {
  const stream = new PassThrough();
  let text = '';
  stream.on('data', (d: Buffer) => (text += d.toString('utf8')));
  return { stream, raw: () => text, lines: () => text.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>) };
}

const event: RequestFinishedEvent = {
  requestId: 'req-1',
  route: '/v1/chat/completions',
  operation: 'chat',
  tenant: 'team "a"\\b\u2028',
  model: 'gpt-mini',
  servedModel: 'gpt-mini',
  deployment: 'upstream-1',
  attempts: 2,
  status: 200,
  outcome: 'success',
  errorCode: undefined,
  stream: false,
  durationMs: 12.3456,
  timeToFirstTokenMs: undefined,
  upstreamMs: 10.001,
  usage: { promptTokens: 12, completionTokens: 5, cachedTokens: 0, reasoningTokens: 0, estimated: false },
  upstream: undefined,
};

/** What the access log wrote before it was built by hand: pino's own serialisation of the same fields. */
function pinoLine(e: RequestFinishedEvent): Record<string, unknown> {
  const round = (ms: number): number => Math.round(ms * 100) / 100;
  return {
    requestId: e.requestId,
    route: e.route,
    tenant: e.tenant,
    model: e.model,
    servedModel: e.servedModel,
    upstreamModel: e.upstream?.responseModel,
    deployment: e.deployment,
    attempts: e.attempts,
    status: e.status,
    outcome: e.outcome,
    errorCode: e.errorCode,
    stream: e.stream,
    durationMs: round(e.durationMs),
    ttftMs: e.timeToFirstTokenMs === undefined ? undefined : round(e.timeToFirstTokenMs),
    upstreamMs: round(e.upstreamMs),
    trace_id: e.traceId,
    ignoredParams: e.ignoredParams?.join(','),
    promptTokens: e.usage?.promptTokens,
    completionTokens: e.usage?.completionTokens,
    usageEstimated: e.usage?.estimated,
    cost_usd: e.costPico === undefined ? undefined : e.costPico === null ? null : formatUsd(e.costPico),
    cost_estimated: typeof e.costPico === 'number' ? e.usage?.estimated === true : undefined,
  };
}

describe('accessLogWriter', () => {
  it('writes the same line pino writes for the same fields: keys in order, bindings, escaping, omitted undefineds', () => {
    const ours = capture();
    const theirs = capture();
    const a = createLogger({ level: 'info', format: 'json', destination: ours.stream }).child({ worker: 3 });
    const b = createLogger({ level: 'info', format: 'json', destination: theirs.stream }).child({ worker: 3 });
    const upstream = { genAiProvider: 'openai', upstreamModel: 'gpt-4o', responseModel: 'gpt-4o-2024-08-06', serverAddress: 'api.openai.com', serverPort: 443 };
    const estimated = { ...event.usage!, estimated: true };
    for (const e of [
      event,
      { ...event, ignoredParams: ['seed', 'store'], upstream },
      { ...event, usage: undefined, tenant: undefined, status: 502, outcome: 'upstream_error' as const, errorCode: 'upstream_error', timeToFirstTokenMs: 3.14159 },
      { ...event, costPico: 420_000_000 },
      { ...event, costPico: 1_500_000_000_000, usage: estimated },
      { ...event, costPico: null },
      { ...event, traceId: '4bf92f3577b34da6a3ce929d0e0e4736' },
    ]) {
      accessLogWriter(a)(e);
      b.info(pinoLine(e), 'request');
    }
    const strip = (l: Record<string, unknown>): Record<string, unknown> => ({ ...l, time: 0 });
    const mine = ours.lines().map(strip);
    expect(mine).toEqual(theirs.lines().map(strip));
    expect(mine.map((l) => Object.keys(l))).toEqual(theirs.lines().map((l) => Object.keys(l)));
    expect(mine[0]).toMatchObject({ level: 30, service: 'llm-gateway', worker: 3, tenant: 'team "a"\\b\u2028', msg: 'request' });
    expect(mine.slice(3, 6).map((l) => [l.cost_usd, l.cost_estimated])).toEqual([['0.00042', false], ['1.50', true], [null, undefined]]);
    expect(mine[6]?.trace_id).toBe('4bf92f3577b34da6a3ce929d0e0e4736');
    expect(mine[0]).not.toHaveProperty('trace_id');
  });

  it('logs internal errors at error level and respects the logger level', () => {
    const out = capture();
    const logger = createLogger({ level: 'warn', format: 'json', destination: out.stream });
    const write = accessLogWriter(logger);
    write(event);
    write({ ...event, outcome: 'internal_error', status: 500 });
    expect(out.lines().map((l) => [l.level, l.status])).toEqual([[50, 500]]);
  });
});
