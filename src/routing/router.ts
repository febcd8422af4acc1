import type { Principal } from '../auth/principal.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { RoutePlan, RuntimeModel } from './runtime-types.js';

/** Resolves client model names to compiled aliases and builds route plans. */
export class Router {
  readonly #models: ReadonlyMap<string, RuntimeModel>;
  readonly #plans = new Map<string, RoutePlan>();

  constructor(models: ReadonlyMap<string, RuntimeModel>) {
    this.#models = models;
    // Plans depend only on config, so they are built once rather than per request.
    for (const model of models.values()) this.#plans.set(model.alias, this.#buildPlan(model));
  }

  /** All aliases in config order. */
  get models(): readonly RuntimeModel[] {
    return [...this.#models.values()];
  }

  /** The configured alias with this name; throws model_not_found (404). */
  find(name: string): RuntimeModel {
    const model = this.#models.get(name);
    if (!model) {
      throw new GatewayError('model_not_found', `The model '${name.slice(0, 256)}' does not exist or you do not have access to it.`, { param: 'model' });
    }
    return model;
  }

  /** Throws model_not_allowed (403) unless the principal may use the alias. */
  authorize(model: RuntimeModel, principal: Principal): void {
    if (!principal.mayUse(model.alias)) {
      throw new GatewayError('model_not_allowed', `Your key is not allowed to use the model '${model.alias}'.`, { param: 'model' });
    }
  }

  /**
   * The alias followed by its fallbacks (depth-first, each alias at most once). With a
   * principal, fallbacks it may not use are left out: a fallback never reaches a model the key
   * is not allowed (the first alias is the caller's to authorize, with a 403 when refused).
   */
  plan(model: RuntimeModel, principal?: Principal): RoutePlan {
    const plan = this.#plans.get(model.alias) ?? this.#buildPlan(model);
    if (!principal || plan.groups.every((g, i) => i === 0 || principal.mayUse(g.alias))) return plan;
    return { groups: plan.groups.filter((g, i) => i === 0 || principal.mayUse(g.alias)) };
  }

  #buildPlan(model: RuntimeModel): RoutePlan {
    const groups: RuntimeModel[] = [];
    const visit = (m: RuntimeModel): void => {
      if (groups.includes(m)) return;
      groups.push(m);
      for (const f of m.fallbacks) {
        const next = this.#models.get(f);
        if (next) visit(next);
      }
    };
    visit(model);
    return { groups };
  }
}
