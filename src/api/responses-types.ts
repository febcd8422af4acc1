import type { ChatRequest } from './chat-types.js';

/**
 * OpenAI's Responses API (`/v1/responses`) as the gateway speaks it to clients. Only what the
 * gateway reads or writes is typed; items keep any other fields they carry.
 */

/** One input or output item (`message`, `function_call`, `function_call_output`, `reasoning`…). */
export interface ResponseItem {
  readonly type: string;
  readonly [key: string]: unknown;
}

/** The `response` object (OpenAI's `Response` schema). */
export interface ResponseObject {
  id: string;
  object: 'response';
  created_at: number;
  status: 'completed' | 'failed' | 'in_progress' | 'cancelled' | 'queued' | 'incomplete';
  model: string;
  output: ResponseItem[];
  usage?: ResponseUsage | null;
  [key: string]: unknown;
}

export interface ResponseUsage {
  input_tokens: number;
  /** `cache_write_tokens`: prompt tokens written to a provider's prompt cache (the spec requires it; 0 when none). */
  input_tokens_details: { cached_tokens: number; cache_write_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

/** One event of a Responses stream: `type` names it (the SSE `event:` line repeats it). */
export interface ResponseStreamEvent {
  type: string;
  sequence_number?: number;
  [key: string]: unknown;
}

/**
 * A validated `POST /v1/responses` request. `native` goes to deployments that speak the
 * Responses API; `chat` (its chat-completions translation) to every other. A conversation
 * continued with `previous_response_id` arrives here already expanded: `native.input` and
 * `chat.messages` hold the stored turns followed by this request's input, and neither carries
 * `previous_response_id` or `store` (the gateway keeps conversation state itself, so any
 * deployment, of any provider, on any replica, can serve the next turn).
 */
export interface ResponsesApiRequest {
  readonly model: string;
  readonly stream: boolean;
  /** Always true: a Responses stream always ends with the usage (in `response.completed`). */
  readonly includeUsage: true;
  /** The body for a native Responses upstream: validated, history expanded, frozen. */
  readonly native: Readonly<Record<string, unknown>>;
  /** The same request as chat completions, for every other deployment. */
  readonly chat: ChatRequest;
  /** The first parameter the chat form cannot carry (built-in tools, `include`…), if any. */
  readonly untranslatable: string | undefined;
  /** This request's own input items (not the history), normalised to item objects: what is stored and listed by input_items. */
  readonly inputItems: readonly ResponseItem[];
  /** Whether the gateway keeps the response (`store`, default true). */
  readonly store: boolean;
  readonly previousResponseId: string | undefined;
  /** The client's `instructions`, echoed in the response object (they are not carried over to the next turn). */
  readonly instructions: string | undefined;
  /**
   * The request fields the `Response` object repeats (tools, tool_choice, temperature, text,
   * metadata, reasoning…), with OpenAI's defaults for those the client left out.
   */
  readonly echo: Readonly<Record<string, unknown>>;
}

/** A stored conversation turn: what a `previous_response_id` expands to. */
export interface StoredTurn {
  /** The items to prepend to the next request: every earlier turn's input then its output, oldest first. */
  readonly items: readonly ResponseItem[];
}
