import { baseRules } from '../base-parameter-rules.js';
import { translated, type ParameterPolicy } from '../parameter-policy.js';

/** OpenAI chat parameters on Bedrock Converse (request.ts translates the `translated` ones). */
export const bedrockParameters: ParameterPolicy = {
  provider: 'Bedrock',
  parameters: {
    ...baseRules('Bedrock'),
    // requestMetadata (string values only; others are refused by value)
    metadata: translated,
  },
  otherFields: 'refused',
};
