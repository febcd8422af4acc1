import { openAiChatParameters, translated, type OpenAiChatParameter, type ParameterPolicy, type ParameterRule } from '../parameter-policy.js';

/** OpenAI's protocol (OpenAI, vLLM, Azure): the body passes through, every field included. */
export function passThroughParameters(provider: string): ParameterPolicy {
  const parameters = Object.fromEntries(openAiChatParameters.map((name) => [name, translated])) as Record<OpenAiChatParameter, ParameterRule>;
  return { provider, parameters, otherFields: 'passed-through' };
}
