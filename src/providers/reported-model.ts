/** Longest upstream model name the gateway passes on; real ones ("gpt-4o-2024-08-06", ARNs) are far shorter. */
const maxModelNameChars = 128;
const modelName = /^[A-Za-z0-9._:/@+-]+$/;

/**
 * The model an upstream says served a response (OpenAI's dated snapshot, Gemini's
 * `modelVersion`), when it looks like a model name: it goes into a response header, the log line
 * and the `gen_ai.response.model` label, so anything longer than 128 characters or outside
 * [A-Za-z0-9._:/@+-] is not trusted and undefined is returned (the configured model is used).
 */
export function reportedModel(value: unknown): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= maxModelNameChars && modelName.test(value) ? value : undefined;
}
