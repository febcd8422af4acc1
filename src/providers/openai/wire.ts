/**
 * OpenAI's protocol is the gateway's own API: its bodies are the types in `src/api/`
 * (chat-types.ts, completions-types.ts, embeddings-types.ts), passed through with `model` replaced.
 * What is left of the wire here is where each endpoint lives.
 */
export type Endpoint = 'chat/completions' | 'completions' | 'embeddings';
