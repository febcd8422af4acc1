import type { ConcurrencyConfig, LimitsConfig } from '../config/schema.js';

/** Who is calling: a configured tenant, its model allow-list and its limits. */
export interface Principal {
  readonly tenant: string;
  /** Whether this tenant may use the model alias. */
  mayUse(alias: string): boolean;
  /** The limits for one model alias (per-model override, else the tenant default). */
  limitsFor(alias: string): LimitsConfig | undefined;
  /** In-flight requests allowed to this tenant, all models together. */
  readonly concurrency?: ConcurrencyConfig;
}
