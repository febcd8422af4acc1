/**
 * The per-request cost ceiling (docs/budgets.md): the lower of the key's (or tenant's)
 * `maxCostPerRequestUsd` and the request's `x-gateway-max-cost-usd` header. A target whose
 * worst-case cost is above it is skipped; a request that no target of its model fits is refused
 * with a 400 that gives the cheapest worst case and the ceiling. Unpriced targets have no known
 * worst case and are not skipped (as they are not limited by budgets).
 */
import type { Principal } from '../auth/principal.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RuntimeModel, RuntimeTarget } from '../routing/runtime-types.js';
import { formatUsd, usdToPico } from '../spend/money.js';
import { worstCaseCost } from '../spend/price.js';

export const maxCostHeader = 'x-gateway-max-cost-usd';

type Tokens = { readonly promptTokens: number; readonly outputTokens: number };

/** The ceiling in pUSD for this request, or undefined; a malformed header is a 400. */
export function costCeiling(principal: Principal, headers: Readonly<Record<string, string | string[] | undefined>> | undefined): bigint | undefined {
  const raw = headers?.[maxCostHeader];
  let fromHeader: bigint | undefined;
  if (raw !== undefined) {
    const text = Array.isArray(raw) ? raw.join(',') : raw;
    try {
      fromHeader = usdToPico(text);
    } catch {
      throw new GatewayError('invalid_request', `The ${maxCostHeader} header must be a non-negative amount of US dollars with at most 12 decimal places, such as 0.05.`, { param: maxCostHeader });
    }
  }
  const fromKey = principal.maxCostPico;
  if (fromHeader === undefined) return fromKey;
  if (fromKey === undefined) return fromHeader;
  return fromHeader < fromKey ? fromHeader : fromKey;
}

/** Whether a target's worst case fits the ceiling (an unpriced one always does). */
export function fitsCeiling(target: RuntimeTarget, tokens: Tokens, ceiling: bigint | undefined): boolean {
  if (ceiling === undefined || !target.price) return true;
  return BigInt(worstCaseCost(tokens.promptTokens, tokens.outputTokens, target.price)) <= ceiling;
}

/** Throws cost_ceiling_exceeded unless some target of `model` fits the ceiling. */
export function requireSomeTargetFits(model: RuntimeModel, tokens: Tokens, ceiling: bigint | undefined): void {
  if (ceiling === undefined || model.targets.some((t) => fitsCeiling(t, tokens, ceiling))) return;
  throw ceilingError(model, tokens, ceiling);
}

/** The 400 for a target (or a whole model) above the ceiling: names the cheapest worst case. */
export function ceilingError(model: RuntimeModel, tokens: Tokens, ceiling: bigint): GatewayError {
  let cheapest: number | undefined;
  for (const t of model.targets) if (t.price) cheapest = Math.min(cheapest ?? Infinity, worstCaseCost(tokens.promptTokens, tokens.outputTokens, t.price));
  return new GatewayError(
    'cost_ceiling_exceeded',
    `This request could cost up to $${formatUsd(cheapest ?? 0)} on the cheapest target of '${model.alias}' (prompt estimate of ${tokens.promptTokens} tokens and ${tokens.outputTokens} output tokens at its prices), more than the ceiling of $${formatUsd(ceiling)}. Lower max_tokens, shorten the prompt, or raise the ceiling (${maxCostHeader}, or the key's maxCostPerRequestUsd).`,
    { param: maxCostHeader },
  );
}
