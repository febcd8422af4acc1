import { baseRules } from '../base-parameter-rules.js';
import { ignored, translated, type ParameterPolicy } from '../parameter-policy.js';

/** OpenAI chat parameters on Anthropic's Messages API (request.ts translates the `translated` ones). */
export const anthropicParameters: ParameterPolicy = {
  provider: 'Anthropic',
  parameters: {
    ...baseRules('Anthropic'),
    // disable_parallel_tool_use
    parallel_tool_calls: translated,
    // metadata.user_id
    user: translated,
    safety_identifier: translated,
    metadata: ignored("Anthropic's metadata carries only the end-user id (sent from 'user')"),
  },
  otherFields: 'refused',
  extraTranslated: ['top_k'],
};
