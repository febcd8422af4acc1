/**
 * The OpenAI chat-completions shapes the gateway speaks to its clients. Only the fields the
 * gateway reads are typed; everything else in a client body is kept in `body` and passed through
 * to providers that understand it.
 */

export type Role = 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';

export interface ContentPart {
  type: string;
  text?: string;
  [key: string]: unknown;
}

export interface ToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: Role;
  content?: string | ContentPart[] | null;
  name?: string;
  tool_calls?: ToolCall[];
  tool_call_id?: string;
  [key: string]: unknown;
}

/** A validated chat request. Immutable: each attempt builds its own upstream body from it. */
export interface ChatRequest {
  /** The client's body after validation (frozen); unknown fields are kept for pass-through. */
  readonly body: Readonly<Record<string, unknown>>;
  /** The model alias the client asked for. */
  readonly model: string;
  readonly messages: readonly ChatMessage[];
  readonly stream: boolean;
  /** Whether the client asked for the final usage chunk (`stream_options.include_usage`). */
  readonly includeUsage: boolean;
  /** `max_completion_tokens`, else `max_tokens`, else undefined (never invented). */
  readonly maxOutputTokens: number | undefined;
  /** Number of choices requested (`n`, default 1). */
  readonly n: number;
  /**
   * The first content part an upstream would fetch by itself (a non-`data:` URL), named as the
   * client wrote it; absent when none. Deployments that refuse remote media answer 400 naming it.
   */
  readonly remoteMediaParam?: string;
}

export interface Usage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; [key: string]: unknown };
  completion_tokens_details?: { reasoning_tokens?: number; [key: string]: unknown };
  [key: string]: unknown;
}

export type FinishReason = 'stop' | 'length' | 'tool_calls' | 'content_filter' | 'function_call';

export interface ChatChoice {
  index: number;
  message: {
    role: 'assistant';
    content: string | null;
    refusal?: string | null;
    tool_calls?: ToolCall[];
    [key: string]: unknown;
  };
  logprobs: unknown;
  finish_reason: FinishReason | null;
  [key: string]: unknown;
}

export interface ChatCompletion {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: ChatChoice[];
  usage?: Usage;
  [key: string]: unknown;
}

export interface ChunkChoice {
  index: number;
  delta: {
    role?: 'assistant';
    content?: string | null;
    refusal?: string | null;
    tool_calls?: Array<{ index: number; id?: string; type?: 'function'; function?: { name?: string; arguments?: string } }>;
    [key: string]: unknown;
  };
  logprobs?: unknown;
  finish_reason: FinishReason | null;
  [key: string]: unknown;
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: ChunkChoice[];
  usage?: Usage | null;
  [key: string]: unknown;
}

/** Token usage as the gateway accounts for it, with whether it was counted by us rather than reported. */
export interface UsageRecord {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  /** Prompt tokens written to a provider's prompt cache (Anthropic `cache_creation_input_tokens`); part of promptTokens. */
  cacheWriteTokens?: number;
  /** True when the provider reported nothing and the gateway estimated. */
  estimated: boolean;
}
