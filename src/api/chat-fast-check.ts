import { chatBounds, requestCaps } from './parse-common.js';

/**
 * A quick yes for the chat bodies almost every request sends, so they skip zod's generic walk
 * (the chat schema's parse was ~3 % of the gateway's CPU and ~2 KB of garbage per request in
 * `node bench/profile.mjs`). It must never say yes to a body the schema in parse-chat.ts
 * refuses; anything unusual (tool calls, unknown shapes, any doubt) answers no and is validated
 * by zod, which also writes the error a client sees. parse-chat.test.ts checks the two agree.
 */
export function isCommonValidChat(b: Record<string, unknown>): boolean {
  return (
    isModelName(b.model) &&
    areMessages(b.messages) &&
    optional(b.stream, isBoolean) &&
    optional(b.stream_options, isStreamOptions) &&
    optional(b.max_tokens, isOutputTokens) &&
    optional(b.max_completion_tokens, isOutputTokens) &&
    optional(b.n, (v) => isIntIn(v, 1, requestCaps.maxChoices)) &&
    optional(b.temperature, (v) => isNumberIn(v, chatBounds.temperature.min, chatBounds.temperature.max)) &&
    optional(b.top_p, (v) => isNumberIn(v, chatBounds.topP.min, chatBounds.topP.max)) &&
    optional(b.stop, isStop) &&
    (b.user === undefined || (typeof b.user === 'string' && b.user.length <= chatBounds.maxUserLength))
  );
}

const roles = new Set(['system', 'developer', 'user', 'assistant', 'tool', 'function']);
const printableAscii = /^[\x21-\x7e]+$/;

/** Absent or null (the schema's `.nullable().optional()`), or passing `check`. */
function optional(v: unknown, check: (v: unknown) => boolean): boolean {
  return v === undefined || v === null || check(v);
}

function isModelName(v: unknown): boolean {
  return typeof v === 'string' && v.length >= 1 && v.length <= requestCaps.maxModelNameLength && printableAscii.test(v);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function areMessages(v: unknown): boolean {
  if (!Array.isArray(v) || v.length < 1 || v.length > requestCaps.maxMessages) return false;
  for (const m of v) {
    if (!isObject(m) || typeof m.role !== 'string' || !roles.has(m.role)) return false;
    // Tool calls and anything else unusual are left to the schema.
    if (m.tool_calls !== undefined) return false;
    if (!optional(m.content, isContent)) return false;
    if (m.name !== undefined && typeof m.name !== 'string') return false;
    if (m.tool_call_id !== undefined && typeof m.tool_call_id !== 'string') return false;
  }
  return true;
}

function isContent(v: unknown): boolean {
  if (typeof v === 'string') return true;
  if (!Array.isArray(v)) return false;
  for (const part of v) if (!isObject(part) || typeof part.type !== 'string' || part.type.length === 0) return false;
  return true;
}

function isBoolean(v: unknown): boolean {
  return typeof v === 'boolean';
}

function isStreamOptions(v: unknown): boolean {
  if (!isObject(v)) return false;
  for (const key in v) {
    if (key !== 'include_usage' && key !== 'include_obfuscation') return false;
    if (typeof v[key] !== 'boolean') return false;
  }
  return true;
}

function isIntIn(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= min && v <= max;
}

function isNumberIn(v: unknown, min: number, max: number): boolean {
  return typeof v === 'number' && Number.isFinite(v) && v >= min && v <= max;
}

function isOutputTokens(v: unknown): boolean {
  return isIntIn(v, 1, requestCaps.maxOutputTokens);
}

function isStop(v: unknown): boolean {
  if (typeof v === 'string') return true;
  return Array.isArray(v) && v.length <= chatBounds.maxStopSequences && v.every((s) => typeof s === 'string');
}
