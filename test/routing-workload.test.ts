import { describe, expect, it } from 'vitest';
import { defaultWorkloadOptions, generateWorkload, lognormalInt, requestBody, seededRandom, sloHeaders, type WorkloadRequest } from '../bench/routing/workload.mjs';

// The routing benchmark's workload generator (bench/routing/workload.mjs): the benchmark is only
// fair if every strategy gets the same requests, and only meaningful if they have the shape the
// issue asks for (heavy tails, shared prompts, bursts, an SLO mix).

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] as number;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] as number;
}

// Long enough for the shares and medians to settle; the generator is fast (no I/O).
const long = generateWorkload(7, { durationMs: 600_000, maxRequests: 10_000 });
const interactive = long.requests.filter((r) => r.kind === 'interactive');
const batch = long.requests.filter((r) => r.kind === 'batch');

describe('routing benchmark workload', () => {
  it('is the same list for the same seed, and a different one for another seed', () => {
    const a = generateWorkload(14);
    const b = generateWorkload(14);
    expect(b).toEqual(a);
    expect(requestBody(b, b.requests[5] as WorkloadRequest, 'chat')).toBe(requestBody(a, a.requests[5] as WorkloadRequest, 'chat'));
    const c = generateWorkload(15);
    expect(c.requests.map((r) => r.atMs)).not.toEqual(a.requests.map((r) => r.atMs));
    expect(c.systemPrompts[0]?.text).not.toBe(a.systemPrompts[0]?.text);
  });

  it('keeps the prompts when only the arrival rate changes (separate random streams)', () => {
    const a = generateWorkload(14);
    const b = generateWorkload(14, { burstRatePerSec: 30 });
    expect(b.systemPrompts).toEqual(a.systemPrompts);
    expect(b.requests.length).toBeGreaterThan(a.requests.length);
  });

  it('is ordered, within its duration and request bound', () => {
    const w = generateWorkload(3, { durationMs: 20_000 });
    expect(w.requests.length).toBeGreaterThan(0);
    for (let i = 1; i < w.requests.length; i++) expect((w.requests[i] as WorkloadRequest).atMs).toBeGreaterThanOrEqual((w.requests[i - 1] as WorkloadRequest).atMs);
    expect((w.requests.at(-1) as WorkloadRequest).atMs).toBeLessThan(20_000);
    expect(generateWorkload(3, { durationMs: 600_000, maxRequests: 50 }).requests).toHaveLength(50);
  });

  it('arrives at the on/off mean rate, in bursts', () => {
    const o = defaultWorkloadOptions;
    const onShare = o.meanOnMs / (o.meanOnMs + o.meanOffMs);
    const mean = onShare * o.burstRatePerSec + (1 - onShare) * o.baseRatePerSec;
    expect(long.requests.length / 600).toBeGreaterThan(mean * 0.8);
    expect(long.requests.length / 600).toBeLessThan(mean * 1.2);
    // Bursty: counts per second vary far more than a plain Poisson process's (variance = mean).
    const perSecond = new Array<number>(600).fill(0);
    for (const r of long.requests) perSecond[Math.floor(r.atMs / 1000)]! += 1;
    const m = perSecond.reduce((s, x) => s + x, 0) / perSecond.length;
    const variance = perSecond.reduce((s, x) => s + (x - m) ** 2, 0) / perSecond.length;
    expect(variance / m).toBeGreaterThan(2);
  });

  it('has lognormal, capped lengths near their configured medians, with a heavy right tail', () => {
    const o = defaultWorkloadOptions;
    const out = interactive.map((r) => r.maxTokens);
    expect(median(out)).toBeGreaterThan(o.interactiveOutputTokens.median * 0.85);
    expect(median(out)).toBeLessThan(o.interactiveOutputTokens.median * 1.15);
    expect(quantile(out, 0.99) / median(out)).toBeGreaterThan(4);
    expect(Math.max(...out)).toBeLessThanOrEqual(o.interactiveOutputTokens.max);
    expect(Math.min(...out)).toBeGreaterThanOrEqual(o.interactiveOutputTokens.min);
    const batchOut = batch.map((r) => r.maxTokens);
    expect(median(batchOut)).toBeGreaterThan(o.batchOutputTokens.median * 0.85);
    expect(median(batchOut)).toBeLessThan(o.batchOutputTokens.median * 1.15);
    expect(Math.max(...batchOut)).toBeLessThanOrEqual(o.batchOutputTokens.max);
    // The sampler itself: a million-token tail is capped, never produced.
    const random = seededRandom(1);
    for (let i = 0; i < 1000; i++) expect(lognormalInt(random, { median: 100, sigma: 3, min: 1, max: 500 })).toBeLessThanOrEqual(500);
  });

  it('shares a few long system prompts per tenant, and no user message prefix beyond them', () => {
    const o = defaultWorkloadOptions;
    expect(long.systemPrompts).toHaveLength(o.tenants * o.systemPromptsPerTenant);
    for (const p of long.systemPrompts) expect(p.tokens).toBeGreaterThanOrEqual(o.systemPromptTokens.min);
    for (const r of long.requests.slice(0, 200)) expect(long.systemPrompts[r.systemPrompt]?.tenant).toBe(r.tenant);
    const bodies = long.requests.slice(0, 2).map((r) => JSON.parse(requestBody(long, r, 'chat')));
    expect(bodies[0].messages[1].content.slice(0, 12)).not.toBe(bodies[1].messages[1].content.slice(0, 12));
    // Text is 4-character words: tokens × 4 characters (chars/4, the simulator's tokenizer).
    const p0 = long.systemPrompts[0]!;
    expect(p0.text.length).toBeGreaterThan(p0.tokens * 4);
    expect(p0.text.length).toBeLessThan(p0.tokens * 4 + 100);
    // Zipf-like popularity: tenant 0 is the hottest.
    const byTenant = new Array<number>(o.tenants).fill(0);
    for (const r of long.requests) byTenant[r.tenant]! += 1;
    expect(byTenant[0]).toBeGreaterThan(byTenant[o.tenants - 1]! * 2);
  });

  it('mixes interactive requests with SLO headers and batch-like ones without', () => {
    const share = interactive.length / long.requests.length;
    expect(share).toBeGreaterThan(defaultWorkloadOptions.interactiveShare - 0.05);
    expect(share).toBeLessThan(defaultWorkloadOptions.interactiveShare + 0.05);
    const r = interactive[0]!;
    expect(sloHeaders(r)).toEqual({ 'x-gateway-slo-ttft-ms': String(r.slo?.ttftMs), 'x-gateway-slo-tpot-ms': String(r.slo?.tpotMs) });
    expect(sloHeaders(batch[0]!)).toEqual({});
    expect(median(batch.map((q) => q.maxTokens))).toBeGreaterThan(median(interactive.map((q) => q.maxTokens)) * 3);
    const body = JSON.parse(requestBody(long, r, 'chat'));
    expect(body).toMatchObject({ model: 'chat', max_tokens: r.maxTokens, stream: true, stream_options: { include_usage: true } });
  });
});
