import { toolCallId } from '../translate-helpers.js';

/**
 * The parts of Google's Generative Language API (`v1beta`) the gateway reads and writes
 * (protocols.md §5.2). Field names are the REST/JSON names (lowerCamelCase).
 */

export interface GeminiPart {
  text?: string;
  /** True on thought-summary parts (thinking models); they are not part of the answer. */
  thought?: boolean;
  /** Opaque signature Gemini 3 requires back on replayed function calls. */
  thoughtSignature?: string;
  inlineData?: { mimeType: string; data: string };
  fileData?: { mimeType?: string; fileUri: string };
  functionCall?: { name?: string; args?: Record<string, unknown>; id?: string };
  functionResponse?: { name: string; response: Record<string, unknown>; id?: string };
}

export interface GeminiContent {
  role?: 'user' | 'model';
  parts: GeminiPart[];
}

export interface GeminiFunctionDeclaration {
  name: string;
  description?: string;
  /** JSON Schema as-is (the OpenAPI-subset `parameters` field would need a lossy conversion). */
  parametersJsonSchema?: Record<string, unknown>;
}

export interface GeminiGenerationConfig {
  temperature?: number;
  topP?: number;
  topK?: number;
  candidateCount?: number;
  maxOutputTokens?: number;
  stopSequences?: string[];
  seed?: number;
  presencePenalty?: number;
  frequencyPenalty?: number;
  responseMimeType?: string;
  /** JSON Schema as-is; `responseSchema` takes only an OpenAPI subset. */
  responseJsonSchema?: Record<string, unknown>;
}

export interface GeminiFunctionCallingConfig {
  mode: 'AUTO' | 'ANY' | 'NONE';
  allowedFunctionNames?: string[];
}

export interface GeminiRequest {
  contents: GeminiContent[];
  systemInstruction?: { parts: Array<{ text: string }> };
  tools?: Array<{ functionDeclarations: GeminiFunctionDeclaration[] }>;
  toolConfig?: { functionCallingConfig: GeminiFunctionCallingConfig };
  generationConfig?: GeminiGenerationConfig;
}

export interface GeminiUsageMetadata {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  totalTokenCount?: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
}

export interface GeminiCandidate {
  content?: { role?: string; parts?: GeminiPart[] };
  finishReason?: string;
  index?: number;
}

/** One `generateContent` answer, and also one `streamGenerateContent` SSE event. */
export interface GeminiResponse {
  candidates?: GeminiCandidate[];
  promptFeedback?: { blockReason?: string };
  usageMetadata?: GeminiUsageMetadata;
  modelVersion?: string;
  responseId?: string;
}

/** Google RPC error body: `{"error":{"code","message","status","details":[…]}}`. */
export interface GeminiErrorBody {
  error: { code: number; message: string; status: string; details?: Array<Record<string, unknown>> };
}

/** `batchEmbedContents` request and answer. */
export interface GeminiBatchEmbedRequest {
  requests: Array<{ model: string; content: { parts: Array<{ text: string }> }; outputDimensionality?: number }>;
}

export interface GeminiBatchEmbedResponse {
  embeddings: Array<{ values: number[] }>;
}

/**
 * Gemini has no tool-call ids, and Gemini 3 wants each function call's `thoughtSignature` back
 * in the next request. OpenAI clients keep nothing but the id, so the signature travels in it:
 * `call_<id>_<n>~sig~<signature>`. Signatures are base64 and never contain `~`.
 */
const separator = '~sig~';

export function geminiToolCallId(completionId: string, n: number, signature: string | undefined): string {
  const id = toolCallId(completionId, n);
  return signature === undefined ? id : `${id}${separator}${signature}`;
}

/** The signature carried by an id we generated, if any. */
export function splitToolCallId(id: string): { signature: string | undefined } {
  const at = id.indexOf(separator);
  return { signature: at < 0 ? undefined : id.slice(at + separator.length) || undefined };
}
