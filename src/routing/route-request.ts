import { GatewayError } from '../errors/gateway-error.js';
import type { RequestSize } from './balancer.js';

/**
 * What a balancer may know about the request it routes: its size (prompt estimate and output
 * reserve), whether it streams, its prompt prefix (hashed in blocks, only when a strategy asks:
 * prefix.ts) and the latency objectives the client set. One per request.
 */
export class RouteRequest implements RequestSize {
  readonly promptTokens: number;
  readonly outputTokens: number;
  #blocks: readonly number[] | undefined;
  readonly #prefix: () => readonly number[];

  constructor(
    size: RequestSize,
    readonly stream: boolean,
    /** The prompt's prefix blocks, computed at most once and only if a strategy asks. */
    prefix: () => readonly number[],
    readonly slo: Slo | undefined = undefined,
  ) {
    this.promptTokens = size.promptTokens;
    this.outputTokens = size.outputTokens;
    this.#prefix = prefix;
  }

  /** Prompt tokens plus the output reserve: what the request may hold of a server's capacity. */
  get tokens(): number {
    return this.promptTokens + this.outputTokens;
  }

  /** The prompt's chained prefix-block hashes (prefix.ts); [] for an API with no prompt to compare. */
  prefixBlocks(): readonly number[] {
    return (this.#blocks ??= this.#prefix());
  }

  /** The blocks if a strategy already computed them, else undefined (nothing is computed). */
  get prefixBlocksIfComputed(): readonly number[] | undefined {
    return this.#blocks;
  }
}

/** Latency objectives for one request, from its headers. */
export interface Slo {
  /** Time to first token, ms. */
  readonly ttftMs?: number | undefined;
  /** Time per output token after the first, ms. */
  readonly tpotMs?: number | undefined;
}

export const sloTtftHeader = 'x-gateway-slo-ttft-ms';
export const sloTpotHeader = 'x-gateway-slo-tpot-ms';

/** Longest objective a header may state (the request deadline is shorter anyway). */
const maxSloMs = 600_000;

/**
 * The request's SLO headers, or undefined when it sets none. A value that is not a positive
 * number of ms (at most 600,000; decimals allowed for TPOT) is a 400 naming the header.
 */
export function sloFromHeaders(headers: Readonly<Record<string, string | string[] | undefined>> | undefined): Slo | undefined {
  const ttft = headers?.[sloTtftHeader];
  const tpot = headers?.[sloTpotHeader];
  if (ttft === undefined && tpot === undefined) return undefined;
  return { ttftMs: sloValue(ttft, sloTtftHeader), tpotMs: sloValue(tpot, sloTpotHeader) };
}

function sloValue(raw: string | string[] | undefined, name: string): number | undefined {
  if (raw === undefined) return undefined;
  const text = typeof raw === 'string' ? raw.trim() : '';
  const ms = /^\d{1,6}(\.\d{1,3})?$/.test(text) ? Number(text) : NaN;
  if (!(ms > 0 && ms <= maxSloMs)) throw new GatewayError('invalid_request', `The ${name} header must be a positive number of milliseconds, at most ${maxSloMs}.`, { param: name });
  return ms;
}
