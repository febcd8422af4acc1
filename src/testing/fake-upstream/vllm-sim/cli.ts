import type { SimParams } from './params.js';
import { VllmSim } from './server.js';

/**
 * Backs `llm-gateway fake-upstream --dialect vllm-sim [--host H] [--port P] [--model M]
 * [--prefill-ms-per-token N] [--decode-base-ms N] [--decode-ms-per-seq N] [--max-batch N]
 * [--kv-capacity-tokens N] [--prefix-cache-blocks N] [--max-waiting N] [--default-output-tokens N]
 * [--max-output-tokens N] [--speed N]`: one flag per SimParams key, in kebab case.
 */
const NUMBER_FLAGS = {
  'prefill-ms-per-token': 'prefillMsPerToken',
  'decode-base-ms': 'decodeBaseMs',
  'decode-ms-per-seq': 'decodeMsPerSeq',
  'max-batch': 'maxBatch',
  'kv-capacity-tokens': 'kvCapacityTokens',
  'prefix-cache-blocks': 'prefixCacheBlocks',
  'max-waiting': 'maxWaiting',
  'default-output-tokens': 'defaultOutputTokens',
  'max-output-tokens': 'maxOutputTokens',
  speed: 'speed',
} as const satisfies Record<string, keyof SimParams>;

/** The simulator's flags, for `node:util` parseArgs. */
export const vllmSimFlags = {
  model: { type: 'string' },
  ...(Object.fromEntries(Object.keys(NUMBER_FLAGS).map((flag) => [flag, { type: 'string' }])) as Record<keyof typeof NUMBER_FLAGS, { type: 'string' }>),
} as const;

/** Whether any simulator flag is set (they mean nothing to the other dialects). */
export function hasVllmSimFlags(values: Readonly<Record<string, unknown>>): boolean {
  return Object.keys(vllmSimFlags).some((flag) => values[flag] !== undefined);
}

/** Parameters from parsed flags; throws RangeError for a value that is not a number (simParams checks ranges). */
export function vllmSimParamsFromFlags(values: Readonly<Record<string, unknown>>): Partial<SimParams> {
  const params: Partial<SimParams> = {};
  if (typeof values['model'] === 'string') params.model = values['model'];
  for (const [flag, key] of Object.entries(NUMBER_FLAGS)) {
    const raw = values[flag];
    if (typeof raw !== 'string') continue;
    const value = Number(raw);
    if (raw.trim() === '' || !Number.isFinite(value)) throw new RangeError(`--${flag} must be a number: ${raw}`);
    Object.assign(params, { [key]: value });
  }
  return params;
}

/** Starts the simulator and prints its base URL on stdout; the caller owns `close()`. */
export async function runVllmSimCli(args: { host: string; port: number; params: Partial<SimParams> }): Promise<VllmSim> {
  const sim = await VllmSim.start({ ...args.params, host: args.host, port: args.port });
  process.stdout.write(`vllm-sim (model ${sim.params.model}) listening on ${sim.baseUrl}\n`);
  return sim;
}
