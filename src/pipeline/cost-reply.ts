import { isRecord } from '../is-record.js';
import { formatUsd } from '../spend/money.js';
import type { RequestRecord } from './request-record.js';

/**
 * How a request's cost reaches its client (docs/costs.md): a header on a JSON reply, a field in
 * the usage of a stream's final usage chunk. Both carry the cost `record.priceUsage()` computed
 * from the sane usage; neither prices anything itself.
 */

/** `x-gateway-cost-usd` (and `x-gateway-cost-estimated: true` for estimated usage); none when unpriced. */
export function costHeaders(record: RequestRecord): Record<string, string> {
  if (typeof record.costPico !== 'number') return {};
  const headers: Record<string, string> = { 'x-gateway-cost-usd': formatUsd(record.costPico) };
  if (record.usage?.estimated) headers['x-gateway-cost-estimated'] = 'true';
  return headers;
}

/**
 * Adds `cost_usd` (a decimal string) and `cost_estimated: true` to a usage object. Nothing when
 * the target is unpriced: clients of self-hosted models see the usage they always saw; the null
 * cost is in the access log, the metrics and the request log.
 */
export function addCost(usage: Record<string, unknown>, record: RequestRecord): void {
  if (typeof record.costPico !== 'number') return;
  usage.cost_usd = formatUsd(record.costPico);
  if (record.usage?.estimated) usage.cost_estimated = true;
}

/** Chat and legacy completions: the `choices: []` chunk that carries usage (sent when the client asked for it). */
export function openAiFinalUsage(chunk: unknown): Record<string, unknown> | undefined {
  if (!isRecord(chunk) || !Array.isArray(chunk.choices) || chunk.choices.length > 0) return undefined;
  return isRecord(chunk.usage) ? chunk.usage : undefined;
}

/** Anthropic's Messages API: `message_delta`, whose usage is the message's final usage. */
export function messagesFinalUsage(chunk: unknown): Record<string, unknown> | undefined {
  if (!isRecord(chunk) || chunk.type !== 'message_delta') return undefined;
  return isRecord(chunk.usage) ? chunk.usage : undefined;
}

/** The Responses API: `response.completed` (or `.incomplete`, `.failed`), whose response carries the final usage. */
export function responsesFinalUsage(chunk: unknown): Record<string, unknown> | undefined {
  if (!isRecord(chunk) || (chunk.type !== 'response.completed' && chunk.type !== 'response.incomplete' && chunk.type !== 'response.failed')) return undefined;
  return isRecord(chunk.response) && isRecord(chunk.response.usage) ? chunk.response.usage : undefined;
}
