/**
 * deploy/grafana/llm-gateway.json and deploy/prometheus/alerts.yaml against a real Prometheus
 * (Debian's `prometheus`): two gateways run against the fakes, a Prometheus of the test's own
 * scrapes both every second and loads the rules, traffic covers success, errors, streams,
 * retries, a fallback, a breaker opening, a cooldown, budgets, rate limits, and limits decided
 * without Redis (the second gateway's Redis is a port nobody listens on, so its limits fail open
 * or closed). Then every query of every dashboard panel (template variables set to "All") must
 * run without error and return data, every variable must have values, and /api/v1/rules must
 * report every rule healthy. Skips with a message when prometheus is not installed, unless CI=true.
 */
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import type { FakeUpstream } from '../src/testing/fake-upstream/fake-upstream.js';
import { chat, chatBody, deploymentFor, KEY, startHarness, type Harness } from './helpers/harness.js';
import { prometheusAvailable, startPrometheus, type OwnPrometheus } from './helpers/prometheus.js';
import { freePort } from './helpers/redis.js';

const root = resolve(import.meta.dirname, '..');
const dashboardPath = resolve(root, 'deploy', 'grafana', 'llm-gateway.json');
const rulesPath = resolve(root, 'deploy', 'prometheus', 'alerts.yaml');
const available = prometheusAvailable('grafana dashboard test');

interface Target {
  readonly expr: string;
  readonly refId: string;
}
interface Panel {
  readonly type: string;
  readonly title: string;
  readonly targets?: readonly Target[];
  readonly datasource?: { readonly uid: string };
}
interface Variable {
  readonly name: string;
  readonly type: string;
  readonly query?: string | { readonly query: string };
  readonly allValue?: string;
}
const dashboard = JSON.parse(readFileSync(dashboardPath, 'utf8')) as { panels: Panel[]; templating: { list: Variable[] }; __inputs: Array<{ name: string; type: string }> };
const panels = dashboard.panels.filter((p) => p.type !== 'row');
const variables = dashboard.templating.list;

/** A panel query as Grafana would send it with every variable at "All" and a 1-minute rate window. */
function substitute(expr: string): string {
  return expr
    .replaceAll('$__rate_interval', '1m')
    .replace(/\$\{?(model|deployment|job)\}?/g, (_, name: string) => variables.find((v) => v.name === name)?.allValue ?? '.*');
}

describe('deploy/grafana/llm-gateway.json (static)', () => {
  it('uses a templated Prometheus datasource everywhere, with model, deployment and job variables', () => {
    expect(dashboard.__inputs).toEqual([expect.objectContaining({ name: 'DS_PROMETHEUS', type: 'datasource' })]);
    expect(variables.map((v) => v.name)).toEqual(expect.arrayContaining(['datasource', 'model', 'deployment', 'job']));
    for (const p of panels) {
      expect(p.datasource?.uid, p.title).toBe('${datasource}');
      expect(p.targets?.length ?? 0, p.title).toBeGreaterThan(0);
    }
  });

  it('has the panels the issue lists', () => {
    const titles = panels.map((p) => p.title.toLowerCase()).join('\n');
    for (const words of ['request rate by outcome', 'error ratio', 'p50 / p95 / p99', 'time to first token', 'time per output token', 'tokens per second', 'cost per minute', 'upstream attempts', 'retries and fallbacks', 'circuit breaker', 'cooldowns', 'rate-limit decisions', 'fail-open', 'budget spent', 'request-log backlog', 'event-loop delay', 'overhead', 'memory', 'cpu']) {
      expect(titles).toContain(words);
    }
  });
});

describe.skipIf(!available)('the dashboard and the alert rules against a real Prometheus', () => {
  let a: Harness | undefined;
  let b: Harness | undefined;
  let prometheus: OwnPrometheus | undefined;

  beforeAll(async () => {
    const price = { input: 1, output: 2 };
    a = await startHarness({
      fakes: [
        { dialect: 'openai', name: 'good', behaviour: { chunks: 4, chunkIntervalMs: 5 } },
        { dialect: 'openai', name: 'flaky', behaviour: { chunks: 4, chunkIntervalMs: 5 } },
      ],
      config: (f) => ({
        retry: { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 5 },
        deployments: { good: deploymentFor(f[0] as FakeUpstream), flaky: deploymentFor(f[1] as FakeUpstream) },
        models: {
          chat: {
            strategy: 'priority',
            targets: [
              { deployment: 'flaky', model: 'up-flaky', priority: 0, price },
              { deployment: 'good', model: 'up-good', priority: 1, price },
            ],
          },
          solo: { targets: [{ deployment: 'flaky', model: 'up-solo', price }], fallbacks: ['chat'] },
        },
        tenants: {
          main: { keys: [KEY], models: ['*'], budgets: [{ period: 'monthly', limitUsd: '1' }], modelLimits: { chat: { requests: { capacity: 1_000, refillPerSecond: 100 } } } },
        },
        // The control plane (embedded, in memory) brings the request-log metrics.
        state: { database: { dataDir: ':memory:' } },
      }),
    });
    const deadRedis = await freePort();
    b = await startHarness({
      fakes: [{ dialect: 'openai', name: 'other' }],
      config: (f) => ({
        state: {
          backend: 'redis',
          redis: { url: `redis://127.0.0.1:${deadRedis}`, keyPrefix: 'gw:', maxReconnectDelayMs: 100, breaker: { failureThreshold: 1, openMs: 300, maxOpenMs: 300 } },
          failureMode: 'open',
        },
        deployments: { other: deploymentFor(f[0] as FakeUpstream) },
        models: { open: { targets: [{ deployment: 'other', model: 'up-open', price }] }, closed: { targets: [{ deployment: 'other', model: 'up-closed' }] } },
        tenants: {
          main: {
            keys: [KEY],
            models: ['*'],
            budgets: [{ period: 'monthly', limitUsd: '1' }],
            modelLimits: { open: { requests: { capacity: 100, refillPerSecond: 10 } }, closed: { requests: { capacity: 100, refillPerSecond: 10, failureMode: 'closed' } } },
          },
        },
      }),
    });
    const hostPort = (url: string) => new URL(url).host;
    prometheus = await startPrometheus({ targets: [hostPort(a.url), hostPort(b.url)], ruleFiles: [rulesPath] });
    const p = prometheus;
    // Both targets scraped once before the traffic, so rates and quantiles see it as an increase.
    await until(async () => (await p.api<{ result: unknown[] }>('query', { query: 'up == 1' })).result.length === 2, 'both gateways scraped');

    const ok = async (h: Harness, model: string, extra: Record<string, unknown> = {}) => (await chat(h.url, chatBody(model, extra))).status;
    for (let i = 0; i < 4; i++) expect(await ok(a, 'chat')).toBe(200);
    for (let i = 0; i < 3; i++) expect(await ok(a, 'chat', { stream: true, stream_options: { include_usage: true } })).toBe(200);
    // Three 500s from the first-priority deployment: each request is retried on the next target,
    // and the third failure opens flaky's breaker.
    const [good, flaky] = a.fakes as [FakeUpstream, FakeUpstream];
    for (let i = 0; i < 3; i++) {
      flaky.enqueue({ kind: 'status', status: 500 });
      expect(await ok(a, 'chat')).toBe(200);
    }
    // solo's only deployment is open: the request falls back to chat.
    expect(await ok(a, 'solo')).toBe(200);
    expect(await ok(a, 'chat', { stream: true })).toBe(200);
    // A 429 puts the deployment in cooldown (whatever the request then gets).
    good.enqueue({ kind: 'status', status: 429, headers: { 'retry-after': '1' } });
    await ok(a, 'chat');
    expect(await ok(a, 'made-up-model')).toBe(404);
    // The second gateway decides its limits without Redis: open ones locally, the closed one refuses.
    expect(await ok(b, 'open')).toBe(200);
    expect(await ok(b, 'closed')).toBe(503);
  }, 60_000);

  afterAll(async () => {
    await prometheus?.stop();
    await a?.close();
    await b?.close();
  });

  it('every panel query runs and returns data', async () => {
    const p = prometheus!;
    const queries = panels.flatMap((panel) => (panel.targets ?? []).map((t) => ({ panel: panel.title, refId: t.refId, query: substitute(t.expr) })));
    expect(queries.length).toBeGreaterThan(20);
    let empty: Array<{ panel: string; refId: string; query: string; error?: string }> = [];
    // Each query is asked again (≤ 15 s in all) until the scrapes after the traffic have landed.
    await until(async () => {
      empty = [];
      for (const q of queries) {
        try {
          const data = await p.api<{ resultType: string; result: unknown[] }>('query', { query: q.query });
          if (data.result.length === 0) empty.push(q);
        } catch (err) {
          empty.push({ ...q, error: (err as Error).message });
        }
      }
      return empty.length === 0;
    }, 'every panel query returns data').catch(() => undefined);
    expect(empty).toEqual([]);
  }, 30_000);

  it('every template variable has values', async () => {
    const p = prometheus!;
    for (const v of variables.filter((x) => x.type === 'query')) {
      const definition = typeof v.query === 'string' ? v.query : (v.query?.query ?? '');
      const m = /^label_values\((\w+(?:\{[^}]*\})?),\s*(\w+)\)$/.exec(definition);
      expect(m, v.name).not.toBeNull();
      const values = await p.api<string[]>(`label/${m![2]}/values`, { 'match[]': substitute(m![1]!) });
      expect(values.length, v.name).toBeGreaterThan(0);
    }
  }, 30_000);

  it('loads every alert and recording rule, each evaluated and healthy', async () => {
    const p = prometheus!;
    const inFile = (parse(readFileSync(rulesPath, 'utf8')) as { groups: Array<{ rules: unknown[] }> }).groups.flatMap((g) => g.rules).length;
    type Rules = { groups: Array<{ name: string; rules: Array<{ name: string; health: string; lastError?: string }> }> };
    let rules: Array<{ name: string; health: string; lastError?: string }> = [];
    await until(async () => {
      rules = (await p.api<Rules>('rules')).groups.flatMap((g) => g.rules);
      return rules.length === inFile && rules.every((r) => r.health !== 'unknown');
    }, 'every rule evaluated').catch(() => undefined);
    expect(rules).toHaveLength(inFile);
    expect(rules.filter((r) => r.health !== 'ok').map((r) => `${r.name}: ${r.health} ${r.lastError ?? ''}`)).toEqual([]);
  }, 30_000);
});

/** Polls `check` every 250 ms until it holds; rejects after `ms`. */
async function until(check: () => Promise<boolean>, what: string, ms = 15_000): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}
