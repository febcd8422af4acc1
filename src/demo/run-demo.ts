import { randomBytes } from 'node:crypto';
import { createGateway } from '../app.js';
import { resolveConfig } from '../config/load.js';
import type { GatewayEvents } from '../observability/events.js';
import { FakeUpstream } from '../testing/fake-upstream/fake-upstream.js';
import { adminCall } from './demo-admin.js';
import { runBatchDemo } from './demo-batch.js';
import { formatAlert, spendBudget } from './demo-budget.js';
import { sendDemoCall, type DemoCall, type DemoResult } from './demo-client.js';
import { budgetTeam, demoAdminKeyEnv, demoConfig, demoPrices, demoTenants, runtimeTeam } from './demo-config.js';
import { formatResult, out } from './demo-output.js';
import { reconcileSpend } from './demo-spend.js';
import { BudgetHookReceiver } from './demo-webhook.js';

/** A key issued at runtime through the admin API. */
interface IssuedKey {
  readonly id: string;
  readonly key: string;
}

/**
 * `llm-gateway demo`: three fake upstreams speaking their real protocols, the gateway in front
 * of them, a team and a key made at runtime through the admin API, concurrent traffic from four
 * teams, then a fifth spending its daily budget up to the soft-limit alert (received by a webhook
 * here) and the hard stop, each team's spend checked against the request log, and a small batch
 * (Batch API) run beside live traffic, with the item that cannot succeed dead-lettered. Prints what
 * happened and exits 0. Needs no network, database, Redis or keys: the control plane runs on an
 * embedded database in memory, with a bootstrap admin key made here. With `console`, the gateway
 * then keeps serving with the web console at /ui (demo-console.ts) until interrupted.
 */
export async function runDemo(options: { console?: boolean; port?: number } = {}): Promise<number> {
  out('llm-gateway demo: three fake upstreams, one gateway, concurrent traffic from four teams, and a fifth on a budget\n');
  const vllm = await FakeUpstream.start({ dialect: 'openai', name: 'fast-vllm', behaviour: { latencyMs: 15, chunkIntervalMs: 5, chunks: 6 } });
  const triton = await FakeUpstream.start({ dialect: 'triton', name: 'slow-triton', behaviour: { latencyMs: 250, ttftMs: 100, chunkIntervalMs: 30, chunks: 5 } });
  const openai = await FakeUpstream.start({ dialect: 'openai', name: 'flaky-openai', behaviour: { latencyMs: 40, failureRate: 0.7, seed: 7, chunks: 4 } });
  // A short Triton outage: its first three requests fail, so llama-triton must fall back.
  triton.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 503 }, { kind: 'status', status: 503 });
  out('Upstreams');
  out(`  fast-vllm     vLLM (OpenAI protocol)    ${vllm.baseUrl}   ~15 ms`);
  out(`  slow-triton   Triton generate_stream    ${triton.baseUrl}      ~250 ms, first 3 requests fail (503)`);
  out(`  flaky-openai  OpenAI protocol           ${openai.baseUrl}   70% of requests fail (500)`);

  // Where the gateway POSTs soft-limit alerts: each is printed as it arrives.
  const hook = await BudgetHookReceiver.start((alert) => out(formatAlert(alert)));

  const narration: string[] = [];
  const adminKey = randomBytes(32).toString('hex');
  const config = resolveConfig(demoConfig({ vllm: vllm.baseUrl, triton: triton.baseUrl, openai: openai.baseUrl, budgetHook: hook.url }), { [demoAdminKeyEnv]: adminKey });
  const gateway = createGateway(config, { eventSinks: [narrator(narration)] });
  const { url } = await gateway.listen({ host: '127.0.0.1', port: options.port ?? 0 });
  out(`\nGateway on ${url}`);
  out('  gpt-mini      weighted 3:1:1 over fast-vllm, slow-triton, flaky-openai');
  out('  gpt-stable    priority: flaky-openai first, fast-vllm second');
  out('  llama-triton  slow-triton, falls back to gpt-mini');
  out(`  ${budgetTeam.model.padEnd(13)} fast-vllm only`);
  out(`  prices, $ per million tokens in/out: ${demoPrices.map((p) => `${p.deployment} ${p.price.input}/${p.price.output} (${p.why})`).join(', ')}`);
  out('  team-c may send 3 requests, then 1 every 10 s');
  out(`  ${budgetTeam.name} may use ${budgetTeam.model} for $${budgetTeam.budget.limitUsd} a day, with an alert at $${budgetTeam.budget.softLimitUsd}\n`);

  try {
    const issued = await issueKey(url, adminKey);
    const wave1 = await runWave(url, firstWave(issued), 'Wave 1');
    const wave2 = await runWave(url, secondWave(wave1.length + 1), "Wave 2, after flaky-openai's breaker has opened");
    const budgeted = await spendBudget(url, hook, wave1.length + wave2.length + 1);
    const revoked = await revokeKey(url, adminKey, issued, wave1.length + wave2.length + budgeted.length + 1);
    const results = [...wave1, ...wave2, ...budgeted, revoked];
    summarise(results, narration);
    await reconcileSpend(url, adminKey, results);
    // After the spend check: the batch's items are spend of their own (in the request log too).
    await runBatchDemo(url, adminKey, results.length + 1);
    out('Metrics excerpt (GET /metrics)');
    const metrics = await (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(10_000) })).text();
    for (const line of metrics.split('\n')) {
      if (/^gateway_(requests_total|upstream_attempts_total|retries_total|fallbacks_total|circuit_breaker_state|ratelimit_decisions_total|cost_usd_total|budget_decisions_total|budget_soft_limit_crossed_total|budget_webhook_deliveries_total)\{/.test(line)) out(`  ${line}`);
    }
    out(`\nUpstream calls seen: fast-vllm ${vllm.stats.requests}, slow-triton ${triton.stats.requests}, flaky-openai ${openai.stats.requests}`);
    if (options.console) await (await import('./demo-console.js')).serveConsole(url, adminKey);
  } finally {
    await gateway.close();
    await Promise.all([vllm.close(), triton.close(), openai.close(), hook.close()]);
  }
  return 0;
}

async function runWave(url: string, calls: DemoCall[], title: string): Promise<DemoResult[]> {
  out(`${title}: ${calls.length} concurrent requests (${calls.filter((c) => c.stream).length} streaming)`);
  const results = await Promise.all(calls.map((c) => sendDemoCall(url, c)));
  for (const r of results) out(formatResult(r));
  out();
  return results;
}

/**
 * The control plane at work: a team and a key made through the admin API, as an operator would
 * with curl (examples/control-plane.yaml), then used like any other key.
 */
async function issueKey(url: string, adminKey: string): Promise<IssuedKey> {
  out('Control plane: an embedded PostgreSQL in memory, the admin API on the gateway\'s port');
  const team = await adminCall(url, adminKey, 'POST', '/teams', 201, runtimeTeam);
  out(`  POST   /admin/v1/teams        ${team.status}  team ${team.body.name}, may use ${team.body.models.join(', ')}`);
  const made = await adminCall(url, adminKey, 'POST', '/keys', 201, { team: runtimeTeam.name, name: 'demo' });
  out(`  POST   /admin/v1/keys         ${made.status}  ${made.body.id} for ${made.body.team}: ${made.body.prefix}… (the secret is shown once; the gateway keeps its SHA-256)\n`);
  return { id: made.body.id, key: made.body.key };
}

/** Revokes the runtime key, shows it refused, and reads the audit log the changes left. */
async function revokeKey(url: string, adminKey: string, issued: IssuedKey, n: number): Promise<DemoResult> {
  out(`Revoking ${runtimeTeam.name}'s key through the admin API`);
  const revoked = await adminCall(url, adminKey, 'DELETE', `/keys/${issued.id}`, 200);
  out(`  DELETE /admin/v1/keys/${issued.id}  ${revoked.status}  revoked at ${revoked.body.revokedAt}`);
  const refused = await sendDemoCall(url, { n, tenant: runtimeTeam.name, key: issued.key, model: 'gpt-mini', stream: false });
  out(formatResult(refused));
  const audit = await adminCall(url, adminKey, 'GET', '/audit?order=asc', 200);
  const changes = (audit.body.data as Array<{ action: string; targetId: string | null }>).filter((e) => !e.action.startsWith('bootstrap.'));
  out(`  GET    /admin/v1/audit        200  ${changes.map((e) => `${e.action} ${e.targetId}`).join(', ')} (and each use of the bootstrap key)`);
  const verify = await adminCall(url, adminKey, 'GET', '/audit/verify', 200);
  out(`  GET    /admin/v1/audit/verify 200  ${verify.body.ok ? `hash chain intact over ${verify.body.entries} entries` : `chain broken at entry ${verify.body.firstBad?.seq}`}\n`);
  return refused;
}

function firstWave(issued: IssuedKey): DemoCall[] {
  const [a, b, c] = demoTenants;
  const d = { name: runtimeTeam.name, key: issued.key };
  const calls: Array<Omit<DemoCall, 'n'>> = [];
  for (let i = 0; i < 4; i++) calls.push({ tenant: a.name, key: a.key, model: 'gpt-mini', stream: i % 2 === 0 });
  for (let i = 0; i < 4; i++) calls.push({ tenant: a.name, key: a.key, model: 'gpt-stable', stream: i % 2 === 1 });
  for (let i = 0; i < 3; i++) calls.push({ tenant: b.name, key: b.key, model: 'gpt-mini', stream: i === 0 });
  for (let i = 0; i < 5; i++) calls.push({ tenant: b.name, key: b.key, model: 'llama-triton', stream: i < 2 });
  calls.push({ tenant: b.name, key: b.key, model: 'gpt-stable', stream: false });
  for (let i = 0; i < 6; i++) calls.push({ tenant: c.name, key: c.key, model: 'gpt-mini', stream: i === 5 });
  for (let i = 0; i < 2; i++) calls.push({ tenant: d.name, key: d.key, model: 'gpt-mini', stream: i === 1 });
  calls.push({ tenant: d.name, key: d.key, model: 'gpt-stable', stream: false });
  calls.push({ tenant: 'nobody', key: 'sk-not-a-real-key', model: 'gpt-mini', stream: false });
  return calls.map((call, i) => ({ ...call, n: i + 1 }));
}

function secondWave(first: number): DemoCall[] {
  const [a, , c] = demoTenants;
  const calls: Array<Omit<DemoCall, 'n'>> = [];
  for (let i = 0; i < 6; i++) calls.push({ tenant: a.name, key: a.key, model: 'gpt-stable', stream: i % 3 === 0 });
  for (let i = 0; i < 2; i++) calls.push({ tenant: c.name, key: c.key, model: 'gpt-mini', stream: false });
  return calls.map((call, i) => ({ ...call, n: first + i }));
}

function summarise(results: DemoResult[], narration: string[]): void {
  const byStatus = new Map<number, number>();
  for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  out('What happened');
  out(`  responses by status: ${[...byStatus.entries()].sort((x, y) => x[0] - y[0]).map(([s, n]) => `${s}×${n}`).join(', ')}`);
  out(`  rate-limit hits: ${results.filter((r) => r.status === 429 && r.errorCode !== 'budget_exceeded').length} (team-c over its limit)`);
  out(`  budget stops: ${results.filter((r) => r.errorCode === 'budget_exceeded').length} (${budgetTeam.name} over its daily budget)`);
  for (const line of narration) out(`  ${line}`);
  out();
}

/** An event subscriber that turns retries, spent retry budgets, fallbacks and breaker changes into sentences. */
function narrator(lines: string[]): Partial<GatewayEvents> {
  return {
    retry: (e) => lines.push(`retry       ${e.alias}: ${e.fromDeployment} failed (${e.reason}), trying again${e.delayMs > 0 ? ` after ${Math.round(e.delayMs)} ms` : ' on another deployment'}`),
    retryBudgetExhausted: (e) => lines.push(`no retry    ${e.alias}: the retry budget (a share of active requests) is spent, so the error goes to the client`),
    fallback: (e) => lines.push(`fallback    ${e.from} → ${e.to}`),
    breakerTransition: (e) => lines.push(`breaker     ${e.deployment}: ${e.from} → ${e.to} (${e.reason})`),
    cooldown: (e) => lines.push(`cooldown    ${e.deployment} for ${e.durationMs} ms after a provider 429`),
  };
}
