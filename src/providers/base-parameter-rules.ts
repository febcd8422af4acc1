import { ignored, refused, translated, type OpenAiChatParameter, type ParameterRule } from './parameter-policy.js';

/**
 * The rules most non-OpenAI providers share, so each provider's table spells out only where it
 * differs. Reasons are shown in docs/providers.md; the client sees the field names only.
 */

/** Fields every adapter reads: the conversation, streaming, length and the common sampling knobs. */
const core = ['messages', 'model', 'stream', 'stream_options', 'max_completion_tokens', 'max_tokens', 'stop', 'temperature', 'top_p'] as const;

/** A base table for a provider named `provider`; each provider overrides what it translates. */
export function baseRules(provider: string): Record<OpenAiChatParameter, ParameterRule> {
  const rules = {} as Record<OpenAiChatParameter, ParameterRule>;
  for (const name of core) rules[name] = translated;
  return Object.assign(rules, {
    n: refused(`${provider} returns one choice; 'n' must be 1`),
    frequency_penalty: refused(),
    presence_penalty: refused(),
    seed: ignored(`${provider} has no sampling seed; OpenAI's seed is best effort, so the answer is valid without it`),
    logit_bias: refused(),
    logprobs: refused(),
    top_logprobs: refused(),
    tools: translated,
    tool_choice: translated,
    parallel_tool_calls: refused(`${provider} cannot disable parallel tool calls`),
    functions: refused("deprecated; use 'tools'"),
    function_call: refused("deprecated; use 'tool_choice'"),
    response_format: translated,
    reasoning_effort: refused(),
    verbosity: refused(),
    modalities: refused(`${provider} answers with text only`),
    audio: refused(),
    prediction: ignored("a latency hint for OpenAI's predicted outputs; the answer does not depend on it"),
    web_search_options: refused(),
    moderation: refused(),
    user: ignored(`${provider} has no end-user id field`),
    safety_identifier: ignored(`${provider} has no end-user id field`),
    metadata: ignored(`${provider} has no free-form request metadata`),
    store: ignored("OpenAI's storage of completions; nothing is stored"),
    service_tier: ignored(`OpenAI's processing tier; ${provider} serves at the deployment's own tier`),
    prompt_cache_key: ignored("OpenAI's prompt-cache routing hint"),
    prompt_cache_retention: ignored("OpenAI's prompt-cache retention"),
    prompt_cache_options: ignored("OpenAI's prompt-cache options"),
  } satisfies Partial<Record<OpenAiChatParameter, ParameterRule>>);
}
