import { pino, type Logger } from 'pino';
import { formatUsd } from '../spend/money.js';
import type { RequestFinishedEvent } from './events.js';

/**
 * The one-line-per-request access log, written as pino would write it (same fields, same order,
 * the logger's bindings such as `service` and `worker`, `msg: "request"`), but built directly.
 *
 * Why not `logger.info(fields, 'request')`: pino walks the field object generically, runs the
 * redaction paths and allocates several intermediate strings per line, a large share of the
 * gateway's garbage per request for this fixed shape (bench/analysis.md). Every field here is an allow-listed scalar from configuration, the error catalog or
 * our own counters, so there is nothing for redaction to find.
 */
export function accessLogWriter(logger: Logger): (e: RequestFinishedEvent) => void {
  const stream = (logger as unknown as Record<symbol, { write(line: string): void }>)[pino.symbols.streamSym];
  const bindings = (logger as unknown as Record<symbol, string>)[pino.symbols.chindingsSym] ?? '';
  const info = logger.levels.values.info ?? 30;
  const error = logger.levels.values.error ?? 50;
  const route = fragments('route');
  const tenant = fragments('tenant');
  const model = fragments('model');
  const servedModel = fragments('servedModel');
  const upstreamModel = fragments('upstreamModel');
  const deployment = fragments('deployment');
  const outcome = fragments('outcome');
  const errorCode = fragments('errorCode');
  return (e) => {
    const level = e.outcome === 'internal_error' ? error : info;
    if (level < logger.levelVal || stream === undefined) return;
    let line = `{"level":${level},"time":${Date.now()}${bindings}`;
    line += str('requestId', e.requestId) + route(e.route) + tenant(e.tenant) + model(e.model);
    line += servedModel(e.servedModel) + upstreamModel(e.upstream?.responseModel) + deployment(e.deployment) + num('attempts', e.attempts) + num('status', e.status);
    line += outcome(e.outcome) + errorCode(e.errorCode) + `,"stream":${e.stream}`;
    line += num('durationMs', round(e.durationMs)) + num('ttftMs', e.timeToFirstTokenMs === undefined ? undefined : round(e.timeToFirstTokenMs));
    line += num('upstreamMs', round(e.upstreamMs)) + str('trace_id', e.traceId);
    if (e.ignoredParams !== undefined) line += str('ignoredParams', e.ignoredParams.join(','));
    if (e.usage) line += num('promptTokens', e.usage.promptTokens) + num('completionTokens', e.usage.completionTokens) + `,"usageEstimated":${e.usage.estimated}`;
    // Dollars as an exact decimal string (docs/costs.md); null: served by a target with no known price.
    if (e.costPico === null) line += ',"cost_usd":null';
    else if (e.costPico !== undefined) line += `,"cost_usd":"${formatUsd(e.costPico)}","cost_estimated":${e.usage?.estimated === true}`;
    stream.write(`${line},"msg":"request"}\n`);
  };
}

/** Most values one field keeps before its fragments are made afresh (an upstream names its own model). */
const maxFragments = 256;

/**
 * `str(name, value)` for a field whose values repeat (names from configuration, outcomes, error
 * codes): each value's fragment is made once and reused, instead of two new strings per field
 * per line. At most `maxFragments` values are kept per field.
 */
function fragments(name: string): (value: string | undefined) => string {
  const made = new Map<string, string>();
  return (value) => {
    if (value === undefined) return '';
    let fragment = made.get(value);
    if (fragment === undefined) {
      if (made.size >= maxFragments) made.clear();
      fragment = str(name, value);
      made.set(value, fragment);
    }
    return fragment;
  };
}

/** A string field, JSON-escaped; omitted when undefined, as pino omits it. */
function str(name: string, value: string | undefined): string {
  return value === undefined ? '' : `,"${name}":${JSON.stringify(value)}`;
}

/** A number field; non-finite numbers are written as null, as JSON.stringify writes them. */
function num(name: string, value: number | undefined): string {
  if (value === undefined) return '';
  return `,"${name}":${Number.isFinite(value) ? value : 'null'}`;
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
