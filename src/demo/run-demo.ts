import { createGateway } from '../app.js';
import { resolveConfig } from '../config/load.js';
import type { GatewayEvents } from '../observability/events.js';
import { FakeUpstream } from '../testing/fake-upstream/fake-upstream.js';
import { sendDemoCall, type DemoCall, type DemoResult } from './demo-client.js';
import { demoConfig, demoTenants } from './demo-config.js';

const out = (line = ''): void => {
  process.stdout.write(`${line}\n`);
};

/**
 * `llm-gateway demo`: three fake upstreams speaking their real protocols, the gateway in front
 * of them, and concurrent traffic from several tenants. Prints what happened and exits 0.
 * Needs no network, Redis or keys.
 */
export async function runDemo(): Promise<number> {
  out('llm-gateway demo: three fake upstreams, one gateway, concurrent traffic from three tenants\n');
  const vllm = await FakeUpstream.start({ dialect: 'openai', name: 'fast-vllm', behaviour: { latencyMs: 15, chunkIntervalMs: 5, chunks: 6 } });
  const triton = await FakeUpstream.start({ dialect: 'triton', name: 'slow-triton', behaviour: { latencyMs: 250, ttftMs: 100, chunkIntervalMs: 30, chunks: 5 } });
  const openai = await FakeUpstream.start({ dialect: 'openai', name: 'flaky-openai', behaviour: { latencyMs: 40, failureRate: 0.7, seed: 7, chunks: 4 } });
  // A short Triton outage: its first three requests fail, so llama-triton must fall back.
  triton.enqueue({ kind: 'status', status: 503 }, { kind: 'status', status: 503 }, { kind: 'status', status: 503 });
  out('Upstreams');
  out(`  fast-vllm     vLLM (OpenAI protocol)    ${vllm.baseUrl}   ~15 ms`);
  out(`  slow-triton   Triton generate_stream    ${triton.baseUrl}      ~250 ms, first 3 requests fail (503)`);
  out(`  flaky-openai  OpenAI protocol           ${openai.baseUrl}   70% of requests fail (500)`);

  const narration: string[] = [];
  const gateway = createGateway(resolveConfig(demoConfig({ vllm: vllm.baseUrl, triton: triton.baseUrl, openai: openai.baseUrl })), {
    eventSinks: [narrator(narration)],
  });
  const { url } = await gateway.listen({ host: '127.0.0.1', port: 0 });
  out(`\nGateway on ${url}`);
  out('  gpt-mini      weighted 3:1:1 over fast-vllm, slow-triton, flaky-openai');
  out('  gpt-stable    priority: flaky-openai first, fast-vllm second');
  out('  llama-triton  slow-triton, falls back to gpt-mini');
  out('  team-c may send 3 requests, then 1 every 10 s\n');

  try {
    const wave1 = await runWave(url, firstWave(), 'Wave 1: 24 concurrent requests (8 streaming)');
    const wave2 = await runWave(url, secondWave(), "Wave 2: 8 more, after flaky-openai's breaker has opened");
    summarise([...wave1, ...wave2], narration);
    out('\nMetrics excerpt (GET /metrics)');
    const metrics = await (await fetch(`${url}/metrics`)).text();
    for (const line of metrics.split('\n')) {
      if (/^gateway_(requests_total|upstream_attempts_total|retries_total|fallbacks_total|circuit_breaker_state|ratelimit_decisions_total)\{/.test(line)) out(`  ${line}`);
    }
    out(`\nUpstream calls seen: fast-vllm ${vllm.stats.requests}, slow-triton ${triton.stats.requests}, flaky-openai ${openai.stats.requests}`);
  } finally {
    await gateway.close();
    await Promise.all([vllm.close(), triton.close(), openai.close()]);
  }
  return 0;
}

async function runWave(url: string, calls: DemoCall[], title: string): Promise<DemoResult[]> {
  out(title);
  const results = await Promise.all(calls.map((c) => sendDemoCall(url, c)));
  for (const r of results) out(formatResult(r));
  out();
  return results;
}

function firstWave(): DemoCall[] {
  const [a, b, c] = demoTenants;
  const calls: Array<Omit<DemoCall, 'n'>> = [];
  for (let i = 0; i < 4; i++) calls.push({ tenant: a.name, key: a.key, model: 'gpt-mini', stream: i % 2 === 0 });
  for (let i = 0; i < 4; i++) calls.push({ tenant: a.name, key: a.key, model: 'gpt-stable', stream: i % 2 === 1 });
  for (let i = 0; i < 3; i++) calls.push({ tenant: b.name, key: b.key, model: 'gpt-mini', stream: i === 0 });
  for (let i = 0; i < 5; i++) calls.push({ tenant: b.name, key: b.key, model: 'llama-triton', stream: i < 2 });
  calls.push({ tenant: b.name, key: b.key, model: 'gpt-stable', stream: false });
  for (let i = 0; i < 6; i++) calls.push({ tenant: c.name, key: c.key, model: 'gpt-mini', stream: i === 5 });
  calls.push({ tenant: 'nobody', key: 'sk-not-a-real-key', model: 'gpt-mini', stream: false });
  return calls.map((call, i) => ({ ...call, n: i + 1 }));
}

function secondWave(): DemoCall[] {
  const [a, , c] = demoTenants;
  const calls: Array<Omit<DemoCall, 'n'>> = [];
  for (let i = 0; i < 6; i++) calls.push({ tenant: a.name, key: a.key, model: 'gpt-stable', stream: i % 3 === 0 });
  for (let i = 0; i < 2; i++) calls.push({ tenant: c.name, key: c.key, model: 'gpt-mini', stream: false });
  return calls.map((call, i) => ({ ...call, n: 25 + i }));
}

function formatResult(r: DemoResult): string {
  const c = r.call;
  const head = `  #${String(c.n).padStart(2, '0')} ${c.tenant.padEnd(7)} ${c.model.padEnd(13)} ${c.stream ? 'stream' : 'json  '}  ${r.status}`;
  const ms = `${Math.round(r.ms)} ms`.padStart(7);
  if (r.status === 200) {
    const via = r.servedModel && r.servedModel !== c.model ? ` (fallback to ${r.servedModel})` : '';
    const chunks = c.stream ? `, ${r.chunks} chunks` : '';
    return `${head}  ${(r.deployment ?? '?').padEnd(13)} attempts ${r.attempts ?? '?'} ${ms}${chunks}${via}`;
  }
  const wait = r.retryAfter ? ` (Retry-After ${r.retryAfter}s)` : '';
  return `${head}  ${r.text.slice(0, 90)}${wait}`;
}

function summarise(results: DemoResult[], narration: string[]): void {
  const byStatus = new Map<number, number>();
  for (const r of results) byStatus.set(r.status, (byStatus.get(r.status) ?? 0) + 1);
  out('What happened');
  out(`  responses by status: ${[...byStatus.entries()].sort((x, y) => x[0] - y[0]).map(([s, n]) => `${s}×${n}`).join(', ')}`);
  out(`  rate-limit hits: ${results.filter((r) => r.status === 429).length} (team-c over its limit)`);
  for (const line of narration) out(`  ${line}`);
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
