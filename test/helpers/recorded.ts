/**
 * Recorded provider traffic (test/fixtures/) and what a client should make of it: the text,
 * tool calls and finish reason of each choice, and the usage, read straight from the recorded
 * chunks, so a replay through the gateway can be compared with what the provider really sent.
 */
import { readdirSync, readFileSync } from 'node:fs';

export const OPENAI_STREAMS = new URL('../fixtures/openai-chat-streams/', import.meta.url);
export const VERCEL_AI = new URL('../fixtures/vercel-ai/', import.meta.url);

/** The recorded OpenAI chat streams (`*.sse`), sorted by name. */
export function openAiStreamNames(): string[] {
  return readdirSync(OPENAI_STREAMS).filter((n) => n.endsWith('.sse')).sort();
}

export function openAiStreamBytes(name: string): Buffer {
  return readFileSync(new URL(name, OPENAI_STREAMS));
}

/** The JSON chunks of an SSE text (every `data:` payload but `[DONE]`). */
export function sseJsonChunks(text: string): Array<Record<string, any>> {
  return text
    .split(/\r?\n\r?\n/)
    .map((block) => block.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).replace(/^ /, '')).join('\n'))
    .filter((data) => data !== '' && data !== '[DONE]')
    .map((data) => JSON.parse(data) as Record<string, any>);
}

export interface ChoiceSummary {
  content: string;
  refusal: string;
  toolCalls: Array<{ id: string; name: string; arguments: string }>;
  finishReason: string | null;
}

/** What a client assembles from chat chunks: per choice index, plus the last usage seen. */
export function summarise(chunks: ReadonlyArray<Record<string, any>>): { choices: Record<number, ChoiceSummary>; usage: Record<string, any> | undefined } {
  const choices: Record<number, ChoiceSummary> = {};
  let usage: Record<string, any> | undefined;
  for (const chunk of chunks) {
    if (chunk.usage) usage = chunk.usage;
    for (const c of chunk.choices ?? []) {
      const s = (choices[c.index] ??= { content: '', refusal: '', toolCalls: [], finishReason: null });
      s.content += c.delta?.content ?? '';
      s.refusal += c.delta?.refusal ?? '';
      for (const tc of c.delta?.tool_calls ?? []) {
        const call = (s.toolCalls[tc.index] ??= { id: '', name: '', arguments: '' });
        call.id += tc.id ?? '';
        call.name += tc.function?.name ?? '';
        call.arguments += tc.function?.arguments ?? '';
      }
      if (c.finish_reason) s.finishReason = c.finish_reason;
    }
  }
  return { choices, usage };
}

/** A Vercel AI `*.chunks.txt` recording (one JSON payload a line) as the SSE bytes OpenAI sent. */
export function chunksTxtAsSse(name: string): string {
  const lines = readFileSync(new URL(name, VERCEL_AI), 'utf8').split('\n').filter((l) => l.trim() !== '');
  return `${lines.map((l) => `data: ${l}\n\n`).join('')}data: [DONE]\n\n`;
}

export function vercelJson(name: string): any {
  return JSON.parse(readFileSync(new URL(name, VERCEL_AI), 'utf8'));
}
