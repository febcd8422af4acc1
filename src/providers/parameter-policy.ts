import type { ChatRequest } from '../api/chat-types.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { ProviderAdapter, TargetInfo, UpstreamCall } from './types.js';

/**
 * What a provider does with each OpenAI chat parameter, declared as data per provider
 * (src/providers/<name>/parameters.ts) and enforced by `checkChatParameters`, the one place that
 * refuses or reports a field a provider cannot express. docs/providers.md shows the tables; a
 * test renders them from this data, so the doc cannot drift.
 */

/**
 * Every parameter of OpenAI's CreateChatCompletionRequest (test/parameters.test.ts checks this
 * list against the official schema). `Record<OpenAiChatParameter, …>` makes every provider decide
 * each one.
 */
export const openAiChatParameters = [
  'messages', 'model', 'stream', 'stream_options', 'max_completion_tokens', 'max_tokens', 'n', 'stop',
  'temperature', 'top_p', 'frequency_penalty', 'presence_penalty', 'seed', 'logit_bias', 'logprobs', 'top_logprobs',
  'tools', 'tool_choice', 'parallel_tool_calls', 'functions', 'function_call', 'response_format',
  'reasoning_effort', 'verbosity', 'modalities', 'audio', 'prediction', 'web_search_options', 'moderation',
  'user', 'safety_identifier', 'metadata', 'store', 'service_tier',
  'prompt_cache_key', 'prompt_cache_retention', 'prompt_cache_options',
] as const;
export type OpenAiChatParameter = (typeof openAiChatParameters)[number];

/**
 * - `translated`: the adapter carries it in the provider's own terms (values the provider cannot
 *   express are still refused there, by value: Anthropic's `temperature` above 1).
 * - `ignored`: the provider has no equivalent and the answer does not depend on it (hints about
 *   OpenAI's storage, caching or billing; best-effort determinism). Not sent, and reported to the
 *   client in `x-gateway-ignored-params` and in the request's log line.
 * - `refused`: it would change the answer and cannot be expressed: 400 `unsupported_parameter`.
 */
export type ParameterRule =
  | { readonly kind: 'translated' }
  | { readonly kind: 'ignored'; readonly reason: string }
  | { readonly kind: 'refused'; readonly reason?: string };

export const translated: ParameterRule = { kind: 'translated' };
export const ignored = (reason: string): ParameterRule => ({ kind: 'ignored', reason });
export const refused = (reason?: string): ParameterRule => (reason === undefined ? { kind: 'refused' } : { kind: 'refused', reason });

export interface ParameterPolicy {
  /** The provider as named in messages ("Anthropic"). */
  readonly provider: string;
  readonly parameters: Readonly<Record<OpenAiChatParameter, ParameterRule>>;
  /**
   * Fields that are not OpenAI's (`top_k`, a vendor extension): `passed-through` for providers
   * that speak OpenAI's protocol (the server decides), else `refused` unless listed in
   * `extraTranslated`. Nothing the provider cannot carry is dropped silently.
   */
  readonly otherFields: 'passed-through' | 'refused';
  /** Non-OpenAI fields the adapter translates (Triton's `top_k`). */
  readonly extraTranslated?: readonly string[];
}

/**
 * Values that ask for nothing beyond OpenAI's default, so a provider that cannot express the
 * parameter still gives exactly what was asked (SDKs send `n: 1`, `logprobs: false`, …). null
 * and absent are always neutral.
 */
const neutral: Partial<Record<OpenAiChatParameter, (value: unknown) => boolean>> = {
  stream: (v) => v === false,
  n: (v) => v === 1,
  logprobs: (v) => v === false,
  top_logprobs: (v) => v === 0,
  presence_penalty: (v) => v === 0,
  frequency_penalty: (v) => v === 0,
  parallel_tool_calls: (v) => v === true,
  store: (v) => v === false,
  modalities: (v) => Array.isArray(v) && v.length === 1 && v[0] === 'text',
  service_tier: (v) => v === 'auto' || v === 'default',
};

const known: ReadonlySet<string> = new Set(openAiChatParameters);

/** True when `value` for `name` asks the provider for something (not absent, null or the default). */
export function asksForSomething(name: string, value: unknown): boolean {
  if (value === undefined || value === null) return false;
  const isNeutral = known.has(name) ? neutral[name as OpenAiChatParameter] : undefined;
  return isNeutral === undefined || !isNeutral(value);
}

/**
 * Applies a provider's policy to a chat body: throws 400 `unsupported_parameter` (param naming
 * the field, message naming the provider) for the first field, in the client's order, that is
 * refused; returns the fields that are ignored, in the same order. Linear in the body's keys.
 */
export function checkChatParameters(body: Readonly<Record<string, unknown>>, policy: ParameterPolicy): readonly string[] {
  let ignoredNames: string[] | undefined;
  for (const name of Object.keys(body)) {
    if (!asksForSomething(name, body[name])) continue;
    const rule = known.has(name) ? policy.parameters[name as OpenAiChatParameter] : otherFieldRule(name, policy);
    if (rule.kind === 'refused') {
      const why = rule.reason === undefined ? '' : `: ${rule.reason}`;
      throw new GatewayError('unsupported_parameter', `The '${name}' parameter is not supported by ${policy.provider} deployments${why}.`, { param: name });
    }
    if (rule.kind === 'ignored') (ignoredNames ??= []).push(name);
  }
  return ignoredNames ?? [];
}

function otherFieldRule(name: string, policy: ParameterPolicy): ParameterRule {
  if (policy.otherFields === 'passed-through' || policy.extraTranslated?.includes(name)) return translated;
  return refused('it is not an OpenAI parameter and has no equivalent there');
}

/**
 * The upstream call for a chat request: the provider's policy first (refusals before any
 * translation), then the adapter's translation, with the ignored fields noted on the call.
 */
export function chatUpstreamCall(adapter: ProviderAdapter, request: ChatRequest, target: TargetInfo): UpstreamCall {
  const ignoredNames = checkChatParameters(request.body, adapter.chatParameters);
  const call = adapter.chatRequest(request, target);
  return ignoredNames.length === 0 ? call : { ...call, ignoredParams: ignoredNames };
}
