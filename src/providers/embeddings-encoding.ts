/**
 * Embedding vectors as OpenAI's `encoding_format: "base64"` expects them: the bytes of a
 * little-endian Float32Array, base64-encoded. Providers that only return floats (Ollama, Gemini,
 * Bedrock, vLLM) are encoded here when the client asked for base64, which the official OpenAI
 * SDK does by default.
 */
export function floatsToBase64(vector: readonly number[]): string {
  const bytes = Buffer.alloc(vector.length * 4);
  for (let i = 0; i < vector.length; i++) bytes.writeFloatLE(vector[i] as number, i * 4);
  return bytes.toString('base64');
}

/** The inverse, for tests and for providers that return base64 when floats were asked for. */
export function base64ToFloats(encoded: string): number[] {
  const bytes = Buffer.from(encoded, 'base64');
  const out: number[] = [];
  for (let i = 0; i + 4 <= bytes.length; i += 4) out.push(bytes.readFloatLE(i));
  return out;
}
