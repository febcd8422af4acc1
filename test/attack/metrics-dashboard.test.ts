/**
 * Attack on deploy/grafana/llm-gateway.json (static): the dashboard has a `job` variable, but
 * its panels ignored it. With two gateways' jobs in one Prometheus (production and staging,
 * two clusters), picking a job changed only the process panels: every traffic, latency, cost
 * and breaker panel kept summing both, and the model and deployment lists mixed both. Every
 * selector of a gateway metric must be scoped by `$job`, in the panels and the variables.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const dashboard = JSON.parse(readFileSync(resolve(import.meta.dirname, '..', '..', 'deploy', 'grafana', 'llm-gateway.json'), 'utf8')) as {
  panels: Array<{ title: string; targets?: Array<{ expr: string }> }>;
  templating: { list: Array<{ name: string; definition?: string; query?: string | { query: string } }> };
};

/** Every metric selector in a PromQL expression: the metric name and its matchers ("" when none). */
function selectors(expr: string): Array<{ metric: string; matchers: string }> {
  const out: Array<{ metric: string; matchers: string }> = [];
  // Label names in `by (…)` / `without (…)` are no selectors.
  const withoutGrouping = expr.replace(/\b(?:by|without)\s*\([^)]*\)/g, '');
  for (const m of withoutGrouping.matchAll(/\b((?:gateway|gen_ai|process|nodejs)_[a-z0-9_]+)(\{[^}]*\})?/g)) out.push({ metric: m[1]!, matchers: m[2] ?? '' });
  return out;
}

describe('dashboard job scoping', () => {
  it('every panel query selects only the chosen job', () => {
    const unscoped = dashboard.panels.flatMap((p) => (p.targets ?? []).flatMap((t) => selectors(t.expr).filter((s) => !s.matchers.includes('job=~"$job"')).map((s) => `${p.title}: ${s.metric}`)));
    expect(unscoped).toEqual([]);
  });

  it('the model and deployment lists come from the chosen job', () => {
    for (const v of dashboard.templating.list.filter((x) => x.name === 'model' || x.name === 'deployment')) {
      const query = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      for (const text of [query, v.definition ?? '']) expect(text, v.name).toMatch(/\{job=~"\$job"\}/);
    }
  });
});
