import { baseRules } from '../base-parameter-rules.js';
import { translated, type ParameterPolicy } from '../parameter-policy.js';

/** OpenAI chat parameters on Ollama's `/api/chat` (request.ts translates the `translated` ones into `options`). */
export const ollamaParameters: ParameterPolicy = {
  provider: 'Ollama',
  parameters: {
    ...baseRules('Ollama'),
    seed: translated,
    presence_penalty: translated,
    frequency_penalty: translated,
  },
  otherFields: 'refused',
  extraTranslated: ['top_k'],
};
