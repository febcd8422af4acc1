import { baseRules } from '../base-parameter-rules.js';
import { ignored, refused, translated, type ParameterPolicy } from '../parameter-policy.js';

/** OpenAI chat parameters on Triton's generate extension: text in, text out, sampling knobs by name. */
export const tritonParameters: ParameterPolicy = {
  provider: 'Triton',
  parameters: {
    ...baseRules('Triton'),
    seed: translated,
    presence_penalty: translated,
    frequency_penalty: translated,
    tools: refused('the generate extension has no tools'),
    tool_choice: refused('the generate extension has no tools'),
    parallel_tool_calls: ignored('Triton deployments take no tools (and refuse them)'),
    response_format: refused('the generate extension has no structured output'),
  },
  otherFields: 'refused',
  extraTranslated: ['top_k'],
};
