/**
 * Golden translation files and stream replay for adapter unit tests: fixtures are read from
 * test/fixtures/<provider>/, and stream bodies are pushed through the real byte → event →
 * chunk layers (`translateBody`) in arbitrary splits, so decoders and translators are checked
 * together, independent of how the network cut the bytes.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { translateBody } from '../../src/pipeline/stream-body.js';
import type { StreamStep, StreamTranslator, UpstreamErrorInfo } from '../../src/providers/types.js';
import type { StreamFraming } from '../../src/upstream/framing.js';
import type { UpstreamBody } from '../../src/upstream/streamed-response.js';

const fixturesRoot = fileURLToPath(new URL('../fixtures/', import.meta.url));

export function fixtureBytes(provider: string, name: string): Buffer {
  return readFileSync(`${fixturesRoot}${provider}/${name}`);
}

export function fixtureJson<T = any>(provider: string, name: string): T {
  return JSON.parse(fixtureBytes(provider, name).toString('utf8')) as T;
}

/** Case names of a provider's fixtures: `prefix-<case>.<suffix>` → `<case>`. */
export function fixtureCases(provider: string, prefix: string, suffix: string): string[] {
  return readdirSync(`${fixturesRoot}${provider}`)
    .filter((f) => f.startsWith(`${prefix}-`) && f.endsWith(suffix))
    .map((f) => f.slice(prefix.length + 1, -suffix.length))
    .sort();
}

export interface Replay<C> {
  readonly chunks: C[];
  readonly error: UpstreamErrorInfo | undefined;
  /** What the translator or decoder threw (a truncation, a malformed event). */
  readonly thrown: unknown;
}

/** Feeds `parts` as the body's reads through the real decoder and translator. */
export async function replay<C>(parts: readonly Uint8Array[], translator: StreamTranslator<C>, framing: StreamFraming): Promise<Replay<C>> {
  let next = 0;
  const body: UpstreamBody = {
    read: async () => {
      const part = parts[next++];
      return part === undefined ? null : [Buffer.from(part.buffer, part.byteOffset, part.byteLength)];
    },
    destroy: () => undefined,
  };
  const chunks: C[] = [];
  let error: UpstreamErrorInfo | undefined;
  try {
    for await (const step of translateBody(body, translator, framing) as AsyncGenerator<StreamStep<C>>) {
      chunks.push(...step.chunks);
      if (step.error) error = step.error;
    }
  } catch (thrown) {
    return { chunks, error, thrown };
  }
  return { chunks, error, thrown: undefined };
}

/** The body as one read, and split in two at every byte offset. */
export function splits(bytes: Uint8Array): Uint8Array[][] {
  const out: Uint8Array[][] = [[bytes]];
  for (let k = 1; k < bytes.length; k++) out.push([bytes.subarray(0, k), bytes.subarray(k)]);
  return out;
}
