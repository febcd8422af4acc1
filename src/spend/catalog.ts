import type { ProviderName } from '../providers/registry.js';
import type { Price } from './price.js';

/**
 * The shipped price catalogue: the price of a provider's model by the name the upstream knows.
 * (Filled by the catalogue work of issue 12: entries with source and date, docs/costs.md.)
 */
export function catalogPrice(_provider: ProviderName, _baseUrl: string, _model: string): Price | undefined {
  return undefined;
}
