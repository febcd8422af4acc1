import { chatBounds, requestCaps, responseFormatTypes, toolChoiceModes } from './parse-common.js';
import { isRecord } from '../is-record.js';

/**
 * A quick yes for the chat bodies almost every request sends, so they skip zod's generic walk
 * (a visible share of each request's CPU and garbage: bench/analysis.md). It must never say yes to a body the schema in parse-chat.ts
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
    (b.user === undefined || (typeof b.user === 'string' && b.user.length <= chatBounds.maxUserLength)) &&
    optional(b.frequency_penalty, isPenalty) &&
    optional(b.presence_penalty, isPenalty) &&
    optional(b.seed, isInteger) &&
    optional(b.logprobs, isBoolean) &&
    optional(b.top_logprobs, (v) => isIntIn(v, chatBounds.topLogprobs.min, chatBounds.topLogprobs.max)) &&
    optional(b.tools, areTools) &&
    optional(b.tool_choice, isToolChoice) &&
    optional(b.parallel_tool_calls, isBoolean) &&
    optional(b.response_format, isResponseFormat) &&
    optional(b.store, isBoolean) &&
    optional(b.service_tier, isString) &&
    optional(b.reasoning_effort, isString) &&
    optional(b.verbosity, isString) &&
    optional(b.prompt_cache_key, isString) &&
    optional(b.safety_identifier, (v) => isString(v) && v.length <= chatBounds.maxSafetyIdentifierLength) &&
    optional(b.modalities, (v) => Array.isArray(v) && v.every(isString)) &&
    optional(b.prediction, isRecord) &&
    optional(b.audio, isRecord) &&
    optional(b.web_search_options, isRecord) &&
    // Rare fields with maps and limits of their own: left to the schema.
    absent(b.logit_bias) &&
    absent(b.metadata) &&
    absent(b.functions) &&
    absent(b.function_call)
  );
}

const toolChoiceModeSet: ReadonlySet<unknown> = new Set(toolChoiceModes);
const responseFormatTypeSet: ReadonlySet<unknown> = new Set(responseFormatTypes);

function absent(v: unknown): boolean {
  return v === undefined || v === null;
}

function isString(v: unknown): v is string {
  return typeof v === 'string';
}

function isInteger(v: unknown): boolean {
  return typeof v === 'number' && Number.isInteger(v);
}

function isPenalty(v: unknown): boolean {
  return isNumberIn(v, chatBounds.penalty.min, chatBounds.penalty.max);
}

/** `{name: string}` under `key` (a function tool's `function`, a custom tool's `custom`). */
function hasNamed(v: Record<string, unknown>, key: string): boolean {
  const inner = v[key];
  return isRecord(inner) && typeof inner.name === 'string';
}

function isTool(v: unknown): boolean {
  return isRecord(v) && ((v.type === 'function' && hasNamed(v, 'function')) || (v.type === 'custom' && hasNamed(v, 'custom')));
}

function areTools(v: unknown): boolean {
  return Array.isArray(v) && v.every(isTool);
}

function isToolChoice(v: unknown): boolean {
  if (typeof v === 'string') return toolChoiceModeSet.has(v);
  if (!isRecord(v)) return false;
  if (v.type === 'allowed_tools') return isRecord(v.allowed_tools);
  return isTool(v);
}

function isResponseFormat(v: unknown): boolean {
  if (!isRecord(v) || !responseFormatTypeSet.has(v.type)) return false;
  return v.type !== 'json_schema' || hasNamed(v, 'json_schema');
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

function areMessages(v: unknown): boolean {
  if (!Array.isArray(v) || v.length < 1 || v.length > requestCaps.maxMessages) return false;
  for (const m of v) {
    if (!isRecord(m) || typeof m.role !== 'string' || !roles.has(m.role)) return false;
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
  for (const part of v) if (!isRecord(part) || typeof part.type !== 'string' || part.type.length === 0) return false;
  return true;
}

function isBoolean(v: unknown): boolean {
  return typeof v === 'boolean';
}

function isStreamOptions(v: unknown): boolean {
  if (!isRecord(v)) return false;
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
