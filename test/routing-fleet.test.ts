/**
 * Routing against a simulated vLLM fleet (issue 14, "Done means": integration tests against a
 * `vllm-sim` fleet; docs/routing.md). A real gateway on a real socket in front of a few
 * simulated vLLM servers (src/testing/fake-upstream/vllm-sim), provider `vllm`, each test a few
 * seconds of traffic with fast simulator parameters. Assertions are on where requests went
 * (`x-gateway-provider`), on the simulators' counters and on the gateway's /metrics, with wide
 * margins, never on latencies: the machine running them may be loaded.
 *
 * - prefix_affinity keeps each tenant's system prompt on one deployment, and the fleet's prefix
 *   cache serves more of the same traffic than under round_robin;
 * - least_loaded sends most of a concurrent load to the fast servers, away from a 10× slower one;
 * - predicted_latency sends long prompts to the server fast at prefill and long outputs to the
 *   one fast at decode, sheds an impossible SLO with 503 slo_unattainable (nothing sent
 *   upstream), and exports its prediction error;
 * - server metrics are scraped (ok), a queue seen only by the scrape keeps requests away, and a
 *   closed server's scrapes count `error` while routing goes on;
 * - hedging answers from the free server while the saturated one queues, and the saturated
 *   server sees the losers aborted;
 * - after streams, JSON, upstream errors, timeouts, hedges and client aborts, no deployment is
 *   left with a request in flight (seen through prefix_affinity's load bound).
 */
import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { VllmSim, type VllmSimOptions } from '../src/testing/fake-upstream/vllm-sim/server.js';
import { seededRandom } from '../src/testing/seeded-random.js';
import { chat, dispatcherOption, KEY, metric, metricValue, scrapeMetrics, startHarness, type Harness, type HttpResult } from './helpers/harness.js';

/** The model every simulator serves and every target names. */
const MODEL = 'sim';

type Json = Record<string, unknown>;
type Message = { role: string; content: string };
type Fleet = Record<string, VllmSim>;

let harness: Harness | undefined;
const sims: VllmSim[] = [];
/** Requests sent straight to a simulator (to load it), aborted at the end of each test. */
let directs: AbortController[] = [];

async function closeAll(): Promise<void> {
  for (const d of directs) d.abort();
  directs = [];
  // Simulators first: it ends any exchange still hanging, so the gateway's close does not wait.
  await Promise.all(sims.splice(0).map((s) => s.close()));
  await harness?.close();
  harness = undefined;
}

afterEach(closeAll);

async function startFleet(specs: Record<string, VllmSimOptions>): Promise<Fleet> {
  const fleet: Fleet = {};
  for (const [name, params] of Object.entries(specs)) {
    const sim = await VllmSim.start({ model: MODEL, ...params });
    sims.push(sim);
    fleet[name] = sim;
  }
  return fleet;
}

/** A gateway in front of `fleet`: one `vllm` deployment per simulator (plus `extra` each), and `models`. */
async function startGateway(fleet: Fleet, models: Json, options: { deployment?: (sim: VllmSim) => Json; config?: Json } = {}): Promise<Harness> {
  const deployments = Object.fromEntries(Object.entries(fleet).map(([name, sim]) => [name, { provider: 'vllm', baseUrl: sim.baseUrl, ...options.deployment?.(sim) }]));
  harness = await startHarness({ config: () => ({ deployments, models, ...options.config }) });
  return harness;
}

const targets = (names: readonly string[], extra: (name: string, i: number) => Json = () => ({})): Json[] =>
  names.map((name, i) => ({ deployment: name, model: MODEL, ...extra(name, i) }));

/** A chat request through the gateway (10 s client deadline: no test hangs on one). */
function ask(alias: string, messages: Message[], extra: Json = {}, headers: Record<string, string> = {}): Promise<HttpResult> {
  return chat(harness!.url, { model: alias, messages, ...extra }, { headers, signal: AbortSignal.timeout(10_000) });
}

const deploymentOf = (r: HttpResult): string => r.headers['x-gateway-provider'] ?? '(none)';

/** `chars` characters of text that starts with `head` (so its first prefix block is its own). */
function text(head: string, chars: number): string {
  let out = `${head} `;
  for (let i = 0; out.length < chars; i++) out += `${head} sentence ${i} about the fleet. `;
  return out.slice(0, chars);
}

/** How many times each value occurs in `picks` (readable in a failure message). */
function tally(picks: readonly string[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const p of picks) out[p] = (out[p] ?? 0) + 1;
  return out;
}

/**
 * A streaming request straight to a simulator (another client), holding its place until the test
 * ends: its body is left unread, since reading to the end or cancelling would let it go.
 */
function occupy(sim: VllmSim, maxTokens: number): void {
  const controller = new AbortController();
  directs.push(controller);
  fetch(`${sim.baseUrl}/completions`, { method: 'POST', body: JSON.stringify({ model: MODEL, prompt: 'hold', max_tokens: maxTokens, stream: true }), signal: controller.signal }).catch(() => undefined);
}

async function until(check: () => boolean | Promise<boolean>, message: string, timeout = 5_000): Promise<void> {
  await expect.poll(check, { timeout, interval: 20, message }).toBe(true);
}

describe('routing on a vllm-sim fleet', () => {
  it('prefix_affinity: each tenant stays on one deployment, and the fleet’s prefix cache hits more than under round_robin', async () => {
    // Three tenants with distinct system prompts (2.5 KB, ~640 tokens each), eight requests each
    // in a seeded random order, one at a time (so the load bound never moves a prefix).
    const systems = [0, 1, 2].map((t) => text(`Tenant ${t} system prompt.`, 2_500));
    const random = seededRandom(14);
    const order = [0, 1, 2].flatMap((t) => Array<number>(8).fill(t));
    for (let i = order.length - 1; i > 0; i--) {
      const j = Math.floor(random() * (i + 1));
      [order[i], order[j]] = [order[j]!, order[i]!];
    }
    const run = async (strategy: string): Promise<{ placements: Array<Set<string>>; hits: number; queries: number }> => {
      const fleet = await startFleet({ 'vllm-a': {}, 'vllm-b': {}, 'vllm-c': {} });
      await startGateway(fleet, { chat: { strategy, targets: targets(Object.keys(fleet)) } });
      const placements = systems.map(() => new Set<string>());
      for (const [i, t] of order.entries()) {
        const r = await ask('chat', [{ role: 'system', content: systems[t]! }, { role: 'user', content: `Question ${i}?` }], { max_tokens: 2 });
        expect(r.status, r.text).toBe(200);
        placements[t]!.add(deploymentOf(r));
      }
      const stats = Object.values(fleet).map((s) => s.stats());
      await closeAll();
      return { placements, hits: stats.reduce((a, s) => a + s.prefixHitTokens, 0), queries: stats.reduce((a, s) => a + s.prefixQueryTokens, 0) };
    };

    const affinity = await run('prefix_affinity');
    const roundRobin = await run('round_robin');
    for (const placement of affinity.placements) expect(placement.size, [...placement].join(', ')).toBe(1);
    // Affinity recomputes each system prompt once (3 of 24 requests); round_robin once per
    // tenant and server it reaches (up to 9).
    const affinityRate = affinity.hits / affinity.queries;
    const roundRobinRate = roundRobin.hits / roundRobin.queries;
    expect(affinityRate).toBeGreaterThan(0.75);
    expect(affinityRate - roundRobinRate, `affinity ${affinityRate}, round_robin ${roundRobinRate}`).toBeGreaterThan(0.1);
  });

  it('least_loaded: under concurrent load most requests go to the fast deployments, not the 10× slower one', async () => {
    const shape: VllmSimOptions = { decodeBaseMs: 5 };
    const fleet = await startFleet({ 'fast-a': shape, 'fast-b': shape, slow: { ...shape, speed: 0.1 } });
    await startGateway(fleet, { chat: { strategy: 'least_loaded', targets: targets(Object.keys(fleet)) } });
    // A 1.6 KB prompt of its own per request (no prefix-cache hit): ~10 ms of prefill on a fast
    // server, ~100 ms on the slow one.
    let n = 0;
    const send = async (): Promise<string> => {
      const r = await ask('chat', [{ role: 'user', content: text(`Request ${n++}.`, 1_600) }], { max_tokens: 8, stream: true });
      expect(r.status, r.text).toBe(200);
      return deploymentOf(r);
    };
    // Warm-up, one at a time, until every deployment has answered (is measured). Once measured,
    // the slow one loses every comparison while nothing is in flight.
    for (let i = 0; i < 40 && Object.values(fleet).some((s) => s.stats().completed === 0); i++) await send();

    // Eight clients, six requests each.
    const picks: string[] = [];
    await Promise.all(Array.from({ length: 8 }, async () => {
      for (let i = 0; i < 6; i++) picks.push(await send());
    }));
    const counts = tally(picks);
    // Evenly spread (round_robin) the slow one would get 16 of 48.
    expect(counts['slow'] ?? 0, JSON.stringify(counts)).toBeLessThanOrEqual(8);
    expect(counts['fast-a'] ?? 0, JSON.stringify(counts)).toBeGreaterThan(counts['slow'] ?? 0);
    expect(counts['fast-b'] ?? 0, JSON.stringify(counts)).toBeGreaterThan(counts['slow'] ?? 0);
  });

  it('predicted_latency: long prompts go to the fast-prefill server, long outputs to the fast-decode one; an impossible SLO is shed', async () => {
    // prefill-fast: 800 prompt tokens in 4 ms, 10 ms per decode step. decode-fast: the same
    // prompt in 200 ms, 1 ms per step.
    const fleet = await startFleet({
      'prefill-fast': { prefillMsPerToken: 0.005, decodeBaseMs: 10, decodeMsPerSeq: 0 },
      'decode-fast': { prefillMsPerToken: 0.25, decodeBaseMs: 1, decodeMsPerSeq: 0 },
    });
    await startGateway(fleet, { chat: { strategy: 'predicted_latency', onSloMiss: 'shed', targets: targets(Object.keys(fleet)) } });
    let n = 0;
    // A prompt of its own each time (3.2 KB, ~800 tokens, no prefix-cache hit), 2 output tokens.
    const long = (): Message[] => [{ role: 'user', content: text(`Long request ${n++}.`, 3_200) }];
    const send = async (messages: Message[], maxTokens: number): Promise<string> => {
      const r = await ask('chat', messages, { max_tokens: maxTokens, stream: true, stream_options: { include_usage: true } });
      expect(r.status, r.text).toBe(200);
      return deploymentOf(r);
    };
    const sendLong = (): Promise<string> => send(long(), 2);
    // A short prompt and 32 output tokens.
    const sendShort = (): Promise<string> => send([{ role: 'user', content: `Short request ${n++}.` }], 32);

    // Warm-up: both kinds, one at a time; the models learn from every answer, mistakes included.
    for (let i = 0; i < 12; i++) {
      await sendLong();
      await sendShort();
    }
    const longPicks: string[] = [];
    const shortPicks: string[] = [];
    for (let i = 0; i < 16; i++) {
      longPicks.push(await sendLong());
      shortPicks.push(await sendShort());
    }
    // 5 % of requests without an SLO explore a random deployment (with the harness's seeded
    // random, a couple of these 32 do): a few astray at most.
    expect(longPicks.filter((d) => d === 'prefill-fast').length, JSON.stringify(tally(longPicks))).toBeGreaterThanOrEqual(12);
    expect(shortPicks.filter((d) => d === 'decode-fast').length, JSON.stringify(tally(shortPicks))).toBeGreaterThanOrEqual(12);

    // A first token within 1 ms: no deployment is predicted to make it; shed, nothing sent upstream.
    const sent = Object.values(fleet).reduce((a, s) => a + s.stats().requests, 0);
    const shed = await ask('chat', long(), { max_tokens: 2, stream: true }, { 'x-gateway-slo-ttft-ms': '1' });
    expect(shed.status, shed.text).toBe(503);
    expect(shed.json().error.code).toBe('slo_unattainable');
    expect(shed.headers['retry-after']).toBe('1');
    expect(Object.values(fleet).reduce((a, s) => a + s.stats().requests, 0)).toBe(sent);

    const metrics = await scrapeMetrics(harness!.url);
    expect(metricValue(metrics, 'gateway_routing_slo_shed_total', { model: 'chat' })).toBe(1);
    for (const deployment of Object.keys(fleet)) {
      expect(metricValue(metrics, 'gateway_routing_prediction_error_ratio_count', { model: 'chat', deployment, kind: 'ttft' }), deployment).toBeGreaterThan(0);
    }
  });

  it('server metrics: scrapes count ok, a queue seen only by the scrape keeps requests away, a closed server’s scrapes count error and routing goes on', async () => {
    // busy: room in its KV cache for one 400-token generation at a time, 20 ms per step.
    const fleet = await startFleet({ busy: { kvCapacityTokens: 512, decodeBaseMs: 20 }, idle: {} });
    const h = await startGateway(
      fleet,
      { chat: { strategy: 'least_loaded', targets: targets(Object.keys(fleet)) } },
      // staleAfterMs 1 s (10 intervals): a scrape delayed on a loaded machine is not yet stale.
      { deployment: (sim) => ({ metrics: { url: sim.metricsUrl, intervalMs: 100, timeoutMs: 100, staleAfterMs: 1_000 } }) },
    );
    const scrapes = (deployment: string, outcome: string): Promise<number> => metric(h.url, 'gateway_upstream_metrics_scrapes_total', { deployment, outcome });
    await until(async () => (await scrapes('busy', 'ok')) >= 2 && (await scrapes('idle', 'ok')) >= 2, 'both servers scraped');

    // Other clients fill busy: one generation running, three waiting (~8 s each). The gateway
    // has nothing in flight there; only the scrape tells it.
    for (let i = 0; i < 4; i++) occupy(fleet['busy']!, 400);
    await until(() => fleet['busy']!.stats().waiting === 3, 'busy has a queue');
    const okAtQueue = await scrapes('busy', 'ok');
    await until(async () => (await scrapes('busy', 'ok')) >= okAtQueue + 2, 'busy scraped with its queue');
    const picks: string[] = [];
    for (let i = 0; i < 8; i++) {
      const r = await ask('chat', [{ role: 'user', content: `Question ${i}?` }], { max_tokens: 4 });
      expect(r.status, r.text).toBe(200);
      picks.push(`${deploymentOf(r)} after ${r.headers['x-gateway-attempts']}`);
    }
    // Without the scrape both score alike and busy would get about half (each stuck behind its
    // queue until a timeout sends it to idle).
    expect(tally(picks)).toEqual({ 'idle after 1': 8 });
    expect(fleet['busy']!.stats().requests).toBe(4);

    // busy goes away: its scrapes fail, and requests are still answered.
    await fleet['busy']!.close();
    await until(async () => (await scrapes('busy', 'error')) >= 3, 'busy scrapes failing');
    for (let i = 0; i < 6; i++) {
      const r = await ask('chat', [{ role: 'user', content: `After ${i}?` }], { max_tokens: 4 });
      expect(r.status, r.text).toBe(200);
      expect(deploymentOf(r)).toBe('idle');
    }
    expect(await scrapes('idle', 'error')).toBe(0);
  });

  it('hedging: with one server saturated, requests are answered by the free one after afterMs; the saturated one sees them aborted', async () => {
    // saturated: one 400-token generation running (20 ms a step, ~8 s), another waiting ahead of
    // anything the gateway sends (admission is first come, first served).
    const fleet = await startFleet({ saturated: { kvCapacityTokens: 512, decodeBaseMs: 20 }, free: {} });
    const h = await startGateway(
      fleet,
      {
        // priority: every first attempt goes to the saturated server.
        chat: { strategy: 'priority', hedge: { afterMs: 200, maxPercent: 100 }, targets: targets(['saturated', 'free'], (_, i) => ({ priority: i })) },
      },
      // No first-byte timeout to fall back on: without the hedge a request waits the ~16 s queue.
      { config: { timeouts: { firstByteMs: 30_000, totalMs: 30_000 } } },
    );
    occupy(fleet['saturated']!, 400);
    occupy(fleet['saturated']!, 400);
    await until(() => fleet['saturated']!.stats().running === 1 && fleet['saturated']!.stats().waiting === 1, 'saturated has a queue');

    const bodies: Json[] = [{ stream: true }, { stream: false }, { stream: true }, { stream: false }, { stream: true }];
    for (const [i, extra] of bodies.entries()) {
      // A 5 s client deadline, well within the saturated server's queue.
      const r = await chat(h.url, { model: 'chat', messages: [{ role: 'user', content: `Question ${i}?` }], max_tokens: 4, ...extra }, { signal: AbortSignal.timeout(5_000) });
      expect(r.status, r.text).toBe(200);
      expect(deploymentOf(r)).toBe('free');
      expect(r.headers['x-gateway-attempts']).toBe('2');
    }
    expect(await metric(h.url, 'gateway_hedges_total', { model: 'chat', outcome: 'won' })).toBe(bodies.length);
    expect(await metric(h.url, 'gateway_hedges_total', { model: 'chat', outcome: 'started' })).toBe(bodies.length);
    await until(() => fleet['saturated']!.stats().aborted === bodies.length, 'the losers aborted on the saturated server');
    expect(fleet['saturated']!.stats()).toMatchObject({ completed: 0, running: 1, waiting: 1 });
  });

  it('load accounting: after streams, JSON, upstream errors, timeouts, hedges and client aborts, no deployment has a request in flight', async () => {
    // The gateway does not expose its in-flight counts; prefix_affinity's load bound shows them.
    // The probe alias spans the three deployments the traffic uses and three spares. With
    // nothing in flight a prefix goes to its home. A deployment left counting L ≥ 1 requests
    // (the most of any) would be over the bound ⌈1.25 × (in flight + 1) / 6⌉ ≤ ⌈1.25 × (3L + 1) / 6⌉
    // < L + 1 on taking one more, so the prefix homed there would move.
    // Prefill at 0.4 ms a token puts the timeout case (12,000 tokens, 4.8 s) far past the 3 s
    // deadline while short requests answer well within it, on a busy machine too.
    const shape: VllmSimOptions = { prefillMsPerToken: 0.4, decodeBaseMs: 5, kvCapacityTokens: 16_384 };
    const fleet = await startFleet({ 'vllm-a': shape, 'vllm-b': shape, 'vllm-c': shape, 'spare-1': {}, 'spare-2': {}, 'spare-3': {} });
    const names = ['vllm-a', 'vllm-b', 'vllm-c'];
    const h = await startGateway(
      fleet,
      {
        probe: { strategy: 'prefix_affinity', targets: targets(Object.keys(fleet)) },
        mix: { strategy: 'round_robin', targets: targets(names) },
        missing: { strategy: 'round_robin', targets: names.map((deployment) => ({ deployment, model: 'no-such-model' })) },
        hedged: { strategy: 'priority', hedge: { afterMs: 20, maxPercent: 100 }, targets: targets(names, (_, i) => ({ priority: i })) },
      },
      {
        // A 3 s deadline per request (the gateway's own timer: a deployment's firstByteMs is
        // undici's headers timeout, whose timer has a resolution of about a second). Failures must
        // not open breakers: an open breaker hides its deployment from the probes.
        config: { timeouts: { totalMs: 3_000 }, circuitBreaker: { failureThreshold: 1_000 } },
      },
    );

    // Probe prefixes: one whose home is each deployment the traffic uses.
    const probe = (i: number): Promise<HttpResult> => ask('probe', [{ role: 'system', content: text(`Probe ${i}.`, 600) }, { role: 'user', content: 'x' }], { max_tokens: 1 });
    const homes = new Map<string, number>();
    for (let i = 0; i < 80 && homes.size < names.length; i++) {
      const r = await probe(i);
      expect(r.status, r.text).toBe(200);
      const home = deploymentOf(r);
      if (names.includes(home) && !homes.has(home)) homes.set(home, i);
    }
    expect([...homes.keys()].sort()).toEqual(names);
    const probesAtHome = async (): Promise<boolean> => {
      for (const [home, i] of homes) if (deploymentOf(await probe(i)) !== home) return false;
      return true;
    };
    expect(await probesAtHome()).toBe(true);

    const user = (content: string): Message[] => [{ role: 'user', content }];
    const statuses: string[] = [];
    const record = async (what: string, p: Promise<HttpResult>): Promise<void> => {
      statuses.push(`${what} ${(await p).status}`);
    };
    // Streams cut by their client after the first token (200 tokens, ~1 s each otherwise).
    const abortMidStream = async (i: number): Promise<void> => {
      const controller = new AbortController();
      const res = await request(`${h.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${KEY}` },
        body: JSON.stringify({ model: 'mix', messages: user(`Cut ${i}`), max_tokens: 200, stream: true }),
        signal: controller.signal,
        ...dispatcherOption(h.url),
      });
      expect(res.statusCode).toBe(200);
      try {
        for await (const chunk of res.body) if (/"content":"[^"]/.test(String(chunk))) controller.abort();
      } catch {
        // The abort ends the body with an AbortError.
      }
    };
    // Clients that leave before the first token (2,000 prompt tokens: 800 ms of prefill).
    const abortBeforeFirstToken = async (i: number): Promise<void> => {
      await expect(chat(h.url, { model: 'mix', messages: user(text(`Gone ${i}.`, 8_000)), max_tokens: 4, stream: true }, { signal: AbortSignal.timeout(60) })).rejects.toThrow();
    };

    // Served, refused upstream (404 model, 400 longer than the KV cache), cut mid-stream.
    await Promise.all([
      ...[0, 1, 2, 3].map((i) => record('stream', ask('mix', user(`Stream ${i}`), { max_tokens: 8, stream: true }))),
      ...[0, 1, 2, 3].map((i) => record('json', ask('mix', user(`JSON ${i}`), { max_tokens: 8 }))),
      ...[0, 1].map((i) => record('missing', ask('missing', user(`Missing ${i}`), { max_tokens: 8 }))),
      ...[0, 1].map((i) => record('too-long', ask('mix', user(text(`Too long ${i}.`, 68_000)), { max_tokens: 4 }))),
      ...[0, 1, 2, 3].map((i) => abortMidStream(i)),
    ]);
    // Clients gone before the first token; hedges (240 ms prefill, hedged after 20 ms), one at a time.
    await Promise.all([0, 1].map((i) => abortBeforeFirstToken(i)));
    for (let i = 0; i < 3; i++) await record('hedged', ask('hedged', user(text(`Hedged ${i}.`, 2_400)), { max_tokens: 4, stream: i % 2 === 0 }));
    // Past the deadline: 12,000 prompt tokens, 4.8 s of prefill.
    await Promise.all([0, 1].map((i) => record('timeout', ask('mix', user(text(`Slow ${i}.`, 48_000)), { max_tokens: 4 }))));

    expect(tally(statuses)).toEqual({ 'stream 200': 4, 'json 200': 4, 'hedged 200': 3, 'missing 404': 2, 'too-long 400': 2, 'timeout 504': 2 });
    const aborted = (): number => Object.values(fleet).reduce((a, s) => a + s.stats().aborted, 0);
    // Cut streams, clients gone, hedge losers and timed-out attempts reached the servers as aborts.
    await until(() => Object.values(fleet).every((s) => s.stats().running === 0 && s.stats().waiting === 0), 'the fleet idle');
    expect(aborted()).toBeGreaterThanOrEqual(4 + 2 + 2);

    await until(probesAtHome, 'every probe prefix back at its home (nothing left in flight)', 3_000);
  });
});
