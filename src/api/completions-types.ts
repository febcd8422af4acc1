/** OpenAI's legacy text-completions shapes (protocols.md §1.9). */

export interface CompletionsRequest {
  readonly body: Readonly<Record<string, unknown>>;
  readonly model: string;
  /** The prompt when it is text (string or array of strings); token-id prompts only in `body`. */
  readonly prompts: readonly string[] | undefined;
  /** How many prompts the request holds (each gets its own choices). */
  readonly promptCount: number;
  /** Token ids in token-id prompts (0 for text prompts); each is one prompt token. */
  readonly promptTokenIds: number;
  readonly stream: boolean;
  readonly includeUsage: boolean;
  readonly maxOutputTokens: number | undefined;
  readonly n: number;
  /** Completions generated per prompt: `best_of` when larger than `n` (all are billed, `n` returned). */
  readonly choicesPerPrompt: number;
}

export interface TextCompletion {
  id: string;
  object: 'text_completion';
  created: number;
  model: string;
  choices: Array<{ text: string; index: number; logprobs: unknown; finish_reason: string | null }>;
  usage?: { prompt_tokens: number; completion_tokens: number; total_tokens: number };
  [key: string]: unknown;
}
