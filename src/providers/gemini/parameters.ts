import { baseRules } from '../base-parameter-rules.js';
import { translated, type ParameterPolicy } from '../parameter-policy.js';

/** OpenAI chat parameters on Gemini's generateContent (request.ts translates the `translated` ones). */
export const geminiParameters: ParameterPolicy = {
  provider: 'Gemini',
  parameters: {
    ...baseRules('Gemini'),
    // candidateCount, seed, presencePenalty, frequencyPenalty
    n: translated,
    seed: translated,
    presence_penalty: translated,
    frequency_penalty: translated,
  },
  otherFields: 'refused',
  extraTranslated: ['top_k'],
};
