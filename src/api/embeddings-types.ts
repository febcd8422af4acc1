/** OpenAI's embeddings shapes (protocols.md §1.8). */

export interface EmbeddingsRequest {
  /** The client's body after validation (frozen); unknown fields kept for pass-through. */
  readonly body: Readonly<Record<string, unknown>>;
  readonly model: string;
  /** The inputs as strings; token-id inputs are kept only in `body` for OpenAI-like upstreams. */
  readonly texts: readonly string[] | undefined;
  /** Token ids in token-id inputs (0 for text); each is one prompt token. */
  readonly inputTokenIds: number;
  readonly encodingFormat: 'float' | 'base64';
  readonly dimensions: number | undefined;
}

export interface Embedding {
  object: 'embedding';
  index: number;
  /** Floats, or base64 of little-endian float32 bytes when `encoding_format` is `base64`. */
  embedding: number[] | string;
}

export interface EmbeddingsResponse {
  object: 'list';
  data: Embedding[];
  model: string;
  usage: { prompt_tokens: number; total_tokens: number };
}
