/**
 * The parts of Bedrock's Converse / ConverseStream wire format the gateway writes and reads
 * (protocols.md §5.3; AWS API reference "Converse", "ConverseStream"). Only fields we use are
 * typed; responses are validated where they are read, never trusted by these types alone.
 */

export type ConverseRole = 'user' | 'assistant';

export type ImageFormat = 'png' | 'jpeg' | 'gif' | 'webp';

/** A content block: a union where exactly one member is set. */
export type ConverseContentBlock =
  | { text: string }
  | { image: { format: ImageFormat; source: { bytes: string } } }
  | { toolUse: { toolUseId: string; name: string; input: unknown } }
  | { toolResult: { toolUseId: string; content: Array<{ text: string }>; status?: 'success' | 'error' } }
  | { reasoningContent: { reasoningText?: { text: string; signature?: string }; redactedContent?: string } };

export interface ConverseMessage {
  role: ConverseRole;
  content: ConverseContentBlock[];
}

export interface ConverseToolSpec {
  toolSpec: { name: string; description?: string; inputSchema: { json: unknown } };
}

export type ConverseToolChoice = { auto: Record<string, never> } | { any: Record<string, never> } | { tool: { name: string } };

export interface ConverseInferenceConfig {
  maxTokens?: number;
  temperature?: number;
  topP?: number;
  stopSequences?: string[];
}

/** Structured output: `schema` is a JSON *string* (API reference "JsonSchemaDefinition"). */
export interface ConverseOutputConfig {
  textFormat: { type: 'json_schema'; structure: { jsonSchema: { schema: string; name?: string; description?: string } } };
}

/** `POST /model/{modelId}/converse` and `/converse-stream` body (the model is in the path). */
export interface ConverseRequest {
  messages: ConverseMessage[];
  system?: Array<{ text: string }>;
  inferenceConfig?: ConverseInferenceConfig;
  toolConfig?: { tools: ConverseToolSpec[]; toolChoice?: ConverseToolChoice };
  outputConfig?: ConverseOutputConfig;
  /** Free-form string → string map, shown in invocation logs (OpenAI's `metadata`). */
  requestMetadata?: Record<string, string>;
}

/** `usage` in a Converse response and in the stream's `metadata` event. */
export interface ConverseUsage {
  inputTokens: number;
  outputTokens: number;
  totalTokens?: number;
  cacheReadInputTokens?: number;
  cacheWriteInputTokens?: number;
}

/** The SDK's StopReason enum; unknown future values are treated as `stop`. */
export type ConverseStopReason =
  | 'end_turn'
  | 'tool_use'
  | 'max_tokens'
  | 'stop_sequence'
  | 'guardrail_intervened'
  | 'content_filtered'
  | 'malformed_model_output'
  | 'malformed_tool_use'
  | 'model_context_window_exceeded';

export interface ConverseResponse {
  output: { message: ConverseMessage };
  stopReason: ConverseStopReason | string;
  usage?: ConverseUsage;
  metrics?: { latencyMs: number };
}

/**
 * ConverseStream event payloads. On the wire each is one event-stream message whose
 * `:event-type` header names the event and whose payload is the object below (not wrapped in
 * a key named after the event; recorded fixtures that show `{"contentBlockDelta":{…}}` are a
 * decoder's view, not the wire).
 */
export interface StreamEventPayloads {
  messageStart: { role: ConverseRole };
  contentBlockStart: { contentBlockIndex: number; start?: { toolUse?: { toolUseId: string; name: string } } };
  contentBlockDelta: {
    contentBlockIndex: number;
    delta: { text?: string; toolUse?: { input: string }; reasoningContent?: { text?: string; signature?: string; redactedContent?: string } };
  };
  contentBlockStop: { contentBlockIndex: number };
  messageStop: { stopReason: string; additionalModelResponseFields?: unknown };
  metadata: { usage?: ConverseUsage; metrics?: { latencyMs: number } };
}

export type StreamEventName = keyof StreamEventPayloads;

