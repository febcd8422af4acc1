import type { ProviderName } from '../providers/registry.js';
import { catalog, type CatalogEntry, type CatalogPrice, type CatalogVendor } from './catalog-data.js';
import { priceFromPerMillion, type Price } from './price.js';

/** A catalogue entry as a target uses it: the price that applies to this upstream model name. */
export interface CatalogMatch {
  readonly vendor: CatalogVendor;
  readonly entry: CatalogEntry;
  /** Dollars per million tokens, as published (for the Bedrock profile the name uses). */
  readonly pricePerMillion: CatalogPrice;
  readonly price: Price;
  readonly contextWindow: number | undefined;
  readonly maxOutputTokens: number | undefined;
}

/**
 * The shipped price of a provider's model by the name the upstream knows, or undefined when the
 * catalogue has none (a self-hosted engine, a vendor-compatible server on another host, or a
 * model without a confirmed price): the target is then unpriced and its requests cost null.
 */
export function catalogPrice(provider: ProviderName, baseUrl: string, model: string): Price | undefined {
  return catalogEntry(provider, baseUrl, model)?.price;
}

/**
 * The whole catalogue entry for a target (price, context window, max output, source), found by:
 * the vendor from the provider and the base URL's host; then the exact model name; then a dated
 * snapshot (`gpt-4o-2024-08-06`, `claude-sonnet-4-5-20250929`) of a model whose entry lists that
 * snapshot as billed at its price; Gemini's `models/` prefix is ignored, and a Bedrock
 * inference-profile prefix (`global.`, `us.`, `eu.`, …) picks the price of that profile.
 */
export function catalogEntry(provider: ProviderName, baseUrl: string, model: string): CatalogMatch | undefined {
  const vendor = vendorOf(provider, baseUrl);
  if (vendor === undefined) return undefined;
  let name = model.trim();
  let profile: string | undefined;
  if (vendor === 'gemini' && name.startsWith('models/')) name = name.slice('models/'.length);
  if (vendor === 'bedrock') {
    const m = bedrockProfile.exec(name);
    if (m) {
      profile = m[1]!;
      name = name.slice(profile.length + 1);
    }
  }
  const entry = find(vendor, name);
  if (!entry) return undefined;
  // In-Region calls (no prefix) and geographic profiles pay the regional price where there is one.
  const pricePerMillion = profile === 'global' ? entry.price : (entry.regionalPrice ?? entry.price);
  return { vendor, entry, pricePerMillion, price: priceOf(pricePerMillion), contextWindow: entry.contextWindow, maxOutputTokens: entry.maxOutputTokens };
}

/**
 * Which vendor's list prices apply: an OpenAI-protocol deployment is OpenAI only at
 * api.openai.com (and Mistral, Groq, DeepSeek at theirs); vLLM, Ollama and Triton are
 * self-hosted; every vendor provider pointed elsewhere (a proxy, a compatible server, a test
 * double) is not the vendor, so it is not priced as one.
 */
export function vendorOf(provider: ProviderName, baseUrl: string): CatalogVendor | undefined {
  let host: string;
  try {
    host = new URL(baseUrl).hostname.toLowerCase();
  } catch {
    return undefined;
  }
  switch (provider) {
    case 'openai':
      return openAiCompatibleHosts[host];
    case 'azure':
      return azureHost.test(host) ? 'azure' : undefined;
    case 'anthropic':
      return host === 'api.anthropic.com' ? 'anthropic' : undefined;
    case 'gemini':
      return host === 'generativelanguage.googleapis.com' ? 'gemini' : undefined;
    case 'bedrock':
      return bedrockHost.test(host) ? 'bedrock' : undefined;
    case 'vllm':
    case 'ollama':
    case 'triton':
      return undefined;
  }
}

const openAiCompatibleHosts: Readonly<Record<string, CatalogVendor>> = Object.assign(Object.create(null) as Record<string, CatalogVendor>, {
  'api.openai.com': 'openai',
  'api.mistral.ai': 'mistral',
  'api.groq.com': 'groq',
  'api.deepseek.com': 'deepseek',
});
const azureHost = /^[a-z0-9-]+\.(?:openai\.azure\.com|cognitiveservices\.azure\.com|services\.ai\.azure\.com)$/;
const bedrockHost = /^bedrock-runtime(?:-fips)?\.[a-z0-9-]+\.amazonaws\.com$/;
/** Bedrock's inference-profile prefixes: `global.` and the geographic ones. */
const bedrockProfile = /^(global|us|us-gov|eu|apac|jp|au|ca)\.(?=[a-z])/;
/** A dated (or numbered, as Gemini's `-001`) snapshot suffix. */
const snapshotSuffix = /^(.+)-(\d{4}-\d{2}-\d{2}|\d{8}|\d{3})$/;

/** Name → entry per vendor, built once. */
const index = new Map<CatalogVendor, ReadonlyMap<string, CatalogEntry>>(
  (Object.keys(catalog) as CatalogVendor[]).map((v) => [v, new Map(catalog[v].map((e) => [e.model, e]))]),
);
const prices = new WeakMap<CatalogPrice, Price>();

function find(vendor: CatalogVendor, name: string): CatalogEntry | undefined {
  const entries = index.get(vendor)!;
  const exact = entries.get(name);
  if (exact) return exact;
  const m = snapshotSuffix.exec(name);
  if (!m) return undefined;
  const base = entries.get(m[1]!);
  return base?.snapshots?.includes(m[2]!) ? base : undefined;
}

function priceOf(p: CatalogPrice): Price {
  let price = prices.get(p);
  if (!price) prices.set(p, (price = priceFromPerMillion(p)));
  return price;
}
