/** The parts of Ollama's native API (`/api/chat`, `/api/embed`) the gateway uses (protocols.md §5.1). */

export interface OllamaToolCall {
  /** Arguments are a JSON object, and there is no call id. */
  function: { name: string; arguments: Record<string, unknown>; index?: number };
}

export interface OllamaMessage {
  role: 'system' | 'user' | 'assistant' | 'tool';
  content: string;
  /** Base64 image bytes, without a data-URL prefix. */
  images?: string[];
  tool_calls?: OllamaToolCall[];
  /** On tool results: the function that produced them. */
  tool_name?: string;
  thinking?: string;
}

export interface OllamaOptions {
  temperature?: number;
  top_p?: number;
  top_k?: number;
  seed?: number;
  stop?: string[];
  num_predict?: number;
  presence_penalty?: number;
  frequency_penalty?: number;
}

export interface OllamaChatRequest {
  model: string;
  messages: OllamaMessage[];
  /** Ollama streams unless told not to, so the gateway always says which. */
  stream: boolean;
  tools?: Array<{ type: 'function'; function: { name: string; description?: string; parameters?: Record<string, unknown> } }>;
  format?: 'json' | Record<string, unknown>;
  options?: OllamaOptions;
}

/** A whole answer (`stream:false`) and also each NDJSON line of a stream; the last has `done:true`. */
export interface OllamaChatResponse {
  model?: string;
  created_at?: string;
  message?: { role?: string; content?: string; thinking?: string; tool_calls?: OllamaToolCall[] };
  done: boolean;
  done_reason?: string;
  /** Durations are nanoseconds. */
  total_duration?: number;
  load_duration?: number;
  prompt_eval_count?: number;
  prompt_eval_duration?: number;
  eval_count?: number;
  eval_duration?: number;
}

export interface OllamaEmbedRequest {
  model: string;
  input: string[];
  dimensions?: number;
}

export interface OllamaEmbedResponse {
  model?: string;
  embeddings: number[][];
  prompt_eval_count?: number;
}
