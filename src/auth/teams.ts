import type { BudgetConfig, ConcurrencyConfig, LimitsConfig, PayloadsConfig, TenantQueueConfig } from '../config/schema.js';

/** What a principal needs of a team, whether it comes from the config file or the store. */
export interface TeamDefinition {
  readonly models: readonly string[];
  readonly limits: LimitsConfig | undefined;
  readonly modelLimits: Readonly<Record<string, LimitsConfig>> | undefined;
  readonly concurrency: ConcurrencyConfig | undefined;
  readonly budgets: readonly BudgetConfig[] | undefined;
  /** Per-request cost ceiling in US dollars (config tenants). */
  readonly maxCostPerRequestUsd: string | number | undefined;
  /** Set when the team stores its prompts and completions. */
  readonly payloads: PayloadsConfig | undefined;
  /** Its weight and priority classes in the queues (config tenants). */
  readonly queue: TenantQueueConfig | undefined;
}

export function teamDefinition(t: {
  readonly models: readonly string[];
  readonly limits?: LimitsConfig | null | undefined;
  readonly modelLimits?: Readonly<Record<string, LimitsConfig>> | null | undefined;
  readonly concurrency?: ConcurrencyConfig | null | undefined;
  readonly budgets?: readonly BudgetConfig[] | null | undefined;
  readonly maxCostPerRequestUsd?: string | number | null | undefined;
  readonly payloads?: PayloadsConfig | null | undefined;
  readonly queue?: TenantQueueConfig | null | undefined;
}): TeamDefinition {
  return {
    models: t.models,
    limits: t.limits ?? undefined,
    modelLimits: t.modelLimits ?? undefined,
    concurrency: t.concurrency ?? undefined,
    budgets: t.budgets ?? undefined,
    maxCostPerRequestUsd: t.maxCostPerRequestUsd ?? undefined,
    payloads: t.payloads?.store ? t.payloads : undefined,
    queue: t.queue ?? undefined,
  };
}
