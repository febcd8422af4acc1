import { isRecord } from '../is-record.js';

/**
 * An OpenAI tool call's `arguments` (a JSON string) as the object other protocols carry: `{}`
 * for an empty or blank string, else the parsed object. What a failure means depends on who wrote
 * the string (a client: 400; an upstream: a protocol error), so the caller names the failure.
 */
export function parseToolArguments(raw: string): { ok: true; value: Record<string, unknown> } | { ok: false; reason: 'not_json' | 'not_object' } {
  if (raw.trim() === '') return { ok: true, value: {} };
  let parsed: unknown;
  try {
    parsed = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'not_json' };
  }
  return isRecord(parsed) ? { ok: true, value: parsed } : { ok: false, reason: 'not_object' };
}
