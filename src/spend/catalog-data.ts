/**
 * The shipped price catalogue: what each vendor's models cost, as the vendor publishes it, in US
 * dollars per million tokens written as exact decimal strings (catalog.ts turns them into whole
 * picodollars per token). Every entry names the vendor page the price comes from and the day it
 * was read; a model whose price could not be confirmed is left out (its targets get cost null
 * and a warning, never a guess). docs/costs.md says how to add or correct an entry.
 *
 * Only list prices for the standard (on-demand, synchronous) tier are here: batch, flex and
 * priority tiers, negotiated discounts and long-context surcharges are not. Where a vendor bills
 * a price this table cannot express (a prompt-length tier, audio input), the entry's `note` says
 * so and docs/costs.md lists it; a deployment that uses it should set `price` in the config.
 */

/** Dollars per million tokens, as decimal strings with at most 6 decimal places. */
export interface CatalogPrice {
  readonly input: string;
  readonly output: string;
  /** Prompt tokens read from the prompt cache. Absent: billed as `input`. */
  readonly cachedInput?: string;
  /** Prompt tokens written to the prompt cache (Anthropic's 5-minute cache). Absent: billed as `input`. */
  readonly cacheWrite?: string;
  /** Reasoning tokens, only where billed apart from output. Absent: billed as `output`. */
  readonly reasoning?: string;
}

export interface CatalogEntry {
  /** The model name the upstream knows (for Bedrock, the model id without an inference-profile prefix). */
  readonly model: string;
  readonly price: CatalogPrice;
  /**
   * Bedrock only: the price of in-Region and geographic cross-Region (`us.`, `eu.`, …) calls when
   * it differs from the `global.` profile's `price` (Claude 4.5 and later cost 10% more there).
   */
  readonly regionalPrice?: CatalogPrice;
  /**
   * Dated snapshots (`2024-08-06`, `20250929`) the vendor bills at this same price, so that
   * `<model>-<snapshot>` finds this entry. A snapshot not listed is not assumed to share it.
   */
  readonly snapshots?: readonly string[];
  /** Prompt + output tokens the model accepts, when the vendor states it. */
  readonly contextWindow?: number;
  readonly maxOutputTokens?: number;
  /** The vendor's own page the price was read from. */
  readonly source: string;
  /** The day (UTC, YYYY-MM-DD) the price was last read from `source`. */
  readonly read: string;
  /** What the price does not cover. */
  readonly note?: string;
}

/**
 * Vendors whose list prices the catalogue carries. `mistral` and `groq` are recognised by host
 * but have no confirmed entries yet: their targets are unpriced until an entry or a config
 * `price` exists (docs/costs.md).
 */
export type CatalogVendor = 'openai' | 'azure' | 'anthropic' | 'gemini' | 'bedrock' | 'deepseek' | 'mistral' | 'groq';

const read = '2026-12-05';

const openAiModels = (model: string): string => `https://developers.openai.com/api/docs/models/${model}`;
const openAiPricing = 'https://developers.openai.com/api/docs/pricing';
const anthropicPricing = 'https://docs.anthropic.com/en/docs/about-claude/pricing';
const geminiPricing = 'https://ai.google.dev/gemini-api/docs/pricing';
const bedrockPricing = 'https://aws.amazon.com/bedrock/pricing/';
const azurePricing = 'https://azure.microsoft.com/en-us/pricing/details/cognitive-services/openai-service/';
const deepSeekPricing = 'https://api-docs.deepseek.com/quick_start/pricing';

const openai: readonly CatalogEntry[] = [
  { model: 'gpt-5', price: { input: '1.25', cachedInput: '0.125', output: '10' }, snapshots: ['2025-08-07'], contextWindow: 400_000, maxOutputTokens: 128_000, source: openAiPricing, read },
  { model: 'gpt-5-mini', price: { input: '0.25', cachedInput: '0.025', output: '2' }, snapshots: ['2025-08-07'], contextWindow: 400_000, maxOutputTokens: 128_000, source: openAiModels('gpt-5-mini'), read },
  { model: 'gpt-5-nano', price: { input: '0.05', cachedInput: '0.005', output: '0.4' }, snapshots: ['2025-08-07'], contextWindow: 400_000, maxOutputTokens: 128_000, source: openAiPricing, read },
  { model: 'gpt-4.1', price: { input: '2', cachedInput: '0.5', output: '8' }, snapshots: ['2025-04-14'], contextWindow: 1_047_576, maxOutputTokens: 32_768, source: openAiPricing, read },
  { model: 'gpt-4.1-mini', price: { input: '0.4', cachedInput: '0.1', output: '1.6' }, snapshots: ['2025-04-14'], contextWindow: 1_047_576, maxOutputTokens: 32_768, source: openAiPricing, read },
  { model: 'gpt-4.1-nano', price: { input: '0.1', cachedInput: '0.025', output: '0.4' }, snapshots: ['2025-04-14'], contextWindow: 1_047_576, maxOutputTokens: 32_768, source: openAiModels('gpt-4.1-nano'), read },
  // gpt-4o-2024-05-13 is billed at a different (higher, uncached) rate: deliberately not a snapshot here.
  { model: 'gpt-4o', price: { input: '2.5', cachedInput: '1.25', output: '10' }, snapshots: ['2024-08-06', '2024-11-20'], contextWindow: 128_000, maxOutputTokens: 16_384, source: openAiPricing, read },
  { model: 'gpt-4o-mini', price: { input: '0.15', cachedInput: '0.075', output: '0.6' }, snapshots: ['2024-07-18'], contextWindow: 128_000, maxOutputTokens: 16_384, source: openAiPricing, read },
  { model: 'o3', price: { input: '2', cachedInput: '0.5', output: '8' }, snapshots: ['2025-04-16'], contextWindow: 200_000, maxOutputTokens: 100_000, source: openAiPricing, read, note: 'Reasoning tokens are output tokens, billed at the output rate.' },
  { model: 'o4-mini', price: { input: '1.1', cachedInput: '0.275', output: '4.4' }, snapshots: ['2025-04-16'], contextWindow: 200_000, maxOutputTokens: 100_000, source: openAiPricing, read, note: 'Reasoning tokens are output tokens, billed at the output rate.' },
  { model: 'gpt-3.5-turbo-instruct', price: { input: '1.5', output: '2' }, contextWindow: 4_096, maxOutputTokens: 4_096, source: openAiModels('gpt-3.5-turbo-instruct'), read },
  { model: 'text-embedding-3-small', price: { input: '0.02', output: '0' }, source: openAiPricing, read },
  { model: 'text-embedding-3-large', price: { input: '0.13', output: '0' }, source: openAiPricing, read },
];

// Azure OpenAI Global Standard deployments bill OpenAI's list price; Data Zone and Regional
// deployments cost more and need a config `price`. Deployment names are the operator's own, so
// the target's configured `model` is what is looked up.
const azure: readonly CatalogEntry[] = ['gpt-4.1', 'gpt-4.1-mini', 'gpt-4.1-nano', 'gpt-4o', 'gpt-4o-mini'].map((name) => {
  const e = openai.find((o) => o.model === name)!;
  return { ...e, source: azurePricing, note: 'Global Standard deployments; Data Zone and Regional deployments are billed higher (set `price`).' };
});

/** Anthropic: 5-minute cache writes at 1.25× input, cache reads at 0.1× input (the vendor's stated multipliers). */
const anthropic: readonly CatalogEntry[] = [
  { model: 'claude-opus-4-5', price: { input: '5', cacheWrite: '6.25', cachedInput: '0.5', output: '25' }, snapshots: ['20251101'], contextWindow: 200_000, maxOutputTokens: 64_000, source: anthropicPricing, read },
  { model: 'claude-sonnet-4-5', price: { input: '3', cacheWrite: '3.75', cachedInput: '0.3', output: '15' }, snapshots: ['20250929'], contextWindow: 200_000, maxOutputTokens: 64_000, source: anthropicPricing, read, note: 'Prompts over 200K tokens (1M-context beta) are billed at a higher long-context rate not modelled here.' },
  { model: 'claude-haiku-4-5', price: { input: '1', cacheWrite: '1.25', cachedInput: '0.1', output: '5' }, snapshots: ['20251001'], contextWindow: 200_000, maxOutputTokens: 64_000, source: anthropicPricing, read },
  { model: 'claude-opus-4-1', price: { input: '15', cacheWrite: '18.75', cachedInput: '1.5', output: '75' }, snapshots: ['20250805'], contextWindow: 200_000, maxOutputTokens: 32_000, source: anthropicPricing, read },
  { model: 'claude-opus-4-0', price: { input: '15', cacheWrite: '18.75', cachedInput: '1.5', output: '75' }, contextWindow: 200_000, maxOutputTokens: 32_000, source: anthropicPricing, read },
  { model: 'claude-opus-4', price: { input: '15', cacheWrite: '18.75', cachedInput: '1.5', output: '75' }, snapshots: ['20250514'], contextWindow: 200_000, maxOutputTokens: 32_000, source: anthropicPricing, read },
  { model: 'claude-sonnet-4-0', price: { input: '3', cacheWrite: '3.75', cachedInput: '0.3', output: '15' }, contextWindow: 200_000, maxOutputTokens: 64_000, source: anthropicPricing, read },
  { model: 'claude-sonnet-4', price: { input: '3', cacheWrite: '3.75', cachedInput: '0.3', output: '15' }, snapshots: ['20250514'], contextWindow: 200_000, maxOutputTokens: 64_000, source: anthropicPricing, read, note: 'Prompts over 200K tokens (1M-context beta) are billed at a higher long-context rate not modelled here.' },
  { model: 'claude-3-7-sonnet', price: { input: '3', cacheWrite: '3.75', cachedInput: '0.3', output: '15' }, snapshots: ['20250219'], contextWindow: 200_000, maxOutputTokens: 64_000, source: anthropicPricing, read },
  { model: 'claude-3-7-sonnet-latest', price: { input: '3', cacheWrite: '3.75', cachedInput: '0.3', output: '15' }, contextWindow: 200_000, maxOutputTokens: 64_000, source: anthropicPricing, read },
  { model: 'claude-3-5-haiku', price: { input: '0.8', cacheWrite: '1', cachedInput: '0.08', output: '4' }, snapshots: ['20241022'], contextWindow: 200_000, maxOutputTokens: 8_192, source: anthropicPricing, read },
  { model: 'claude-3-5-haiku-latest', price: { input: '0.8', cacheWrite: '1', cachedInput: '0.08', output: '4' }, contextWindow: 200_000, maxOutputTokens: 8_192, source: anthropicPricing, read },
  { model: 'claude-3-haiku', price: { input: '0.25', cacheWrite: '0.3', cachedInput: '0.03', output: '1.25' }, snapshots: ['20240307'], contextWindow: 200_000, maxOutputTokens: 4_096, source: anthropicPricing, read },
];

const geminiAudio = 'Text, image and video input; audio input is billed higher and is not modelled here.';
const gemini: readonly CatalogEntry[] = [
  { model: 'gemini-2.5-flash', price: { input: '0.3', cachedInput: '0.03', output: '2.5' }, contextWindow: 1_048_576, maxOutputTokens: 65_536, source: geminiPricing, read, note: `Thinking tokens are billed as output. ${geminiAudio}` },
  { model: 'gemini-2.5-flash-lite', price: { input: '0.1', cachedInput: '0.01', output: '0.4' }, contextWindow: 1_048_576, maxOutputTokens: 65_536, source: geminiPricing, read, note: `Thinking tokens are billed as output. ${geminiAudio}` },
  { model: 'gemini-2.0-flash', price: { input: '0.1', cachedInput: '0.025', output: '0.4' }, snapshots: ['001'], contextWindow: 1_048_576, maxOutputTokens: 8_192, source: geminiPricing, read, note: geminiAudio },
];

/**
 * Bedrock: Claude at Anthropic's list price through the `global.` profile; from the 4.5 models
 * on, in-Region and geographic profiles cost 10% more. Nova cache reads are 75% below input.
 * AWS's page renders its figures in the browser, so these were read through copies of it that
 * agree with each other (and with Anthropic's list prices); re-check them there when updating.
 */
const regional = (p: CatalogPrice): CatalogPrice => ({
  input: tenPercentMore(p.input),
  output: tenPercentMore(p.output),
  ...(p.cachedInput === undefined ? {} : { cachedInput: tenPercentMore(p.cachedInput) }),
  ...(p.cacheWrite === undefined ? {} : { cacheWrite: tenPercentMore(p.cacheWrite) }),
});
const claudeOnBedrock = (id: string, anthropicModel: string, uplift: boolean): CatalogEntry => {
  const e = anthropic.find((a) => a.model === anthropicModel)!;
  const { snapshots: _s, ...rest } = e;
  return { ...rest, model: id, ...(uplift ? { regionalPrice: regional(e.price) } : {}), source: bedrockPricing };
};
const bedrock: readonly CatalogEntry[] = [
  claudeOnBedrock('anthropic.claude-opus-4-5-20251101-v1:0', 'claude-opus-4-5', true),
  claudeOnBedrock('anthropic.claude-sonnet-4-5-20250929-v1:0', 'claude-sonnet-4-5', true),
  claudeOnBedrock('anthropic.claude-haiku-4-5-20251001-v1:0', 'claude-haiku-4-5', true),
  claudeOnBedrock('anthropic.claude-opus-4-1-20250805-v1:0', 'claude-opus-4-1', false),
  claudeOnBedrock('anthropic.claude-opus-4-20250514-v1:0', 'claude-opus-4', false),
  claudeOnBedrock('anthropic.claude-sonnet-4-20250514-v1:0', 'claude-sonnet-4', false),
  claudeOnBedrock('anthropic.claude-3-7-sonnet-20250219-v1:0', 'claude-3-7-sonnet', false),
  claudeOnBedrock('anthropic.claude-3-5-haiku-20241022-v1:0', 'claude-3-5-haiku', false),
  claudeOnBedrock('anthropic.claude-3-haiku-20240307-v1:0', 'claude-3-haiku', false),
  { model: 'amazon.nova-micro-v1:0', price: { input: '0.035', cachedInput: '0.00875', output: '0.14' }, contextWindow: 128_000, source: bedrockPricing, read },
  { model: 'amazon.nova-lite-v1:0', price: { input: '0.06', cachedInput: '0.015', output: '0.24' }, contextWindow: 300_000, source: bedrockPricing, read },
  { model: 'amazon.nova-pro-v1:0', price: { input: '0.8', cachedInput: '0.2', output: '3.2' }, contextWindow: 300_000, source: bedrockPricing, read },
];

const deepseek: readonly CatalogEntry[] = [
  { model: 'deepseek-chat', price: { input: '0.56', cachedInput: '0.07', output: '1.68' }, contextWindow: 128_000, maxOutputTokens: 8_000, source: deepSeekPricing, read },
  { model: 'deepseek-reasoner', price: { input: '0.56', cachedInput: '0.07', output: '1.68' }, contextWindow: 128_000, maxOutputTokens: 64_000, source: deepSeekPricing, read, note: 'Chain-of-thought tokens are output tokens, billed at the output rate.' },
];

export const catalog: Readonly<Record<CatalogVendor, readonly CatalogEntry[]>> = {
  openai,
  azure,
  anthropic,
  gemini,
  bedrock,
  deepseek,
  mistral: [],
  groq: [],
};

/** "3" → "3.3", "0.275" → "0.3025": ×1.1 in exact decimal arithmetic (catalogue prices have ≤ 5 decimals). */
function tenPercentMore(usd: string): string {
  const [whole = '0', fraction = ''] = usd.split('.');
  const micro = BigInt(whole) * 1_000_000n + BigInt(fraction.padEnd(6, '0'));
  const scaled = micro * 11n;
  if (scaled % 10n !== 0n) throw new RangeError(`10% more than ${usd} is not a whole micro-dollar`);
  const m = scaled / 10n;
  const frac = (m % 1_000_000n).toString().padStart(6, '0').replace(/0+$/, '');
  return `${m / 1_000_000n}${frac ? `.${frac}` : ''}`;
}
