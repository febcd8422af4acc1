/**
 * Cross-references between sections of a config (a target's deployment, a fallback's model, a
 * tenant's models) checked on the raw value, so that they are reported together with every
 * other problem even when parts of the file are malformed: a part that is not the expected
 * shape is skipped here (the schema reports it).
 */

export interface PathIssue {
  readonly path: ReadonlyArray<string | number>;
  readonly message: string;
}

function record(value: unknown): Record<string, unknown> | undefined {
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
}

function list(value: unknown): readonly unknown[] {
  return Array.isArray(value) ? value : [];
}

/** Every reference in `config` that names a deployment or model the config does not define. */
export function* crossReferenceIssues(config: unknown): Generator<PathIssue> {
  const root = record(config);
  if (!root) return;
  const deployments = record(root.deployments) ?? {};
  const models = record(root.models) ?? {};
  for (const [alias, m] of Object.entries(models)) {
    const model = record(m);
    if (!model) continue;
    for (const [i, t] of list(model.targets).entries()) {
      const deployment = record(t)?.deployment;
      if (typeof deployment === 'string' && !Object.hasOwn(deployments, deployment)) {
        yield { path: ['models', alias, 'targets', i, 'deployment'], message: `no deployment named "${deployment}"` };
      }
    }
    for (const [i, f] of list(model.fallbacks).entries()) {
      if (typeof f !== 'string') continue;
      if (!Object.hasOwn(models, f)) yield { path: ['models', alias, 'fallbacks', i], message: `no model named "${f}"` };
      else if (f === alias) yield { path: ['models', alias, 'fallbacks', i], message: 'a model cannot fall back to itself' };
    }
    const over = model.overBudget;
    if (typeof over === 'string') {
      if (!Object.hasOwn(models, over)) yield { path: ['models', alias, 'overBudget'], message: `no model named "${over}"` };
      else if (over === alias) yield { path: ['models', alias, 'overBudget'], message: 'a model cannot be its own over-budget alias' };
    }
  }
  for (const [id, t] of Object.entries(record(root.tenants) ?? {})) {
    const tenant = record(t);
    if (!tenant) continue;
    for (const [i, m] of list(tenant.models).entries()) {
      if (typeof m === 'string' && m !== '*' && !Object.hasOwn(models, m)) yield { path: ['tenants', id, 'models', i], message: `no model named "${m}"` };
    }
    for (const m of Object.keys(record(tenant.modelLimits) ?? {})) {
      if (!Object.hasOwn(models, m)) yield { path: ['tenants', id, 'modelLimits', m], message: `no model named "${m}"` };
    }
  }
  // The admin listener is a listener of its own: it cannot share a port with another one.
  const adminPort = record(root.admin)?.port;
  if (typeof adminPort === 'number' && adminPort !== 0) {
    const server = record(root.server);
    const dataPort = server?.port ?? 8080;
    const metricsPort = record(server?.metrics)?.port;
    if (adminPort === dataPort) yield { path: ['admin', 'port'], message: `must differ from server.port (${String(dataPort)}): the admin API is then served on the data-plane listener; leave admin.port out for that` };
    if (adminPort === metricsPort) yield { path: ['admin', 'port'], message: `must differ from server.metrics.port (${String(metricsPort)})` };
  }
}
