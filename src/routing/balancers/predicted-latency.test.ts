import { describe, expect, it } from 'vitest';
import { ManualClock } from '../../clock.js';
import { GatewayError } from '../../errors/gateway-error.js';
import { fanOut, type GatewayEvents } from '../../observability/events.js';
import { seededRandom } from '../../testing/seeded-random.js';
import type { LoadCandidate } from '../balancer.js';
import { DeploymentLoad } from '../deployment-load.js';
import { STALE_AFTER_MS } from '../latency-model.js';
import { RouteRequest, type Slo } from '../route-request.js';
import { TargetStats } from '../target-stats.js';
import { EXPLORE_EPSILON, PredictedLatencyBalancer } from './predicted-latency.js';

/** A simulated server, linear in the model's features: prefill per 1,000 uncached tokens, queueing per request in flight. */
interface Server {
  base: number;
  perKiloToken: number;
  perInFlight: number;
  tpot: number;
  tpotPerInFlight: number;
}

type Prediction = Parameters<GatewayEvents['routingPrediction']>[0];

function fleet(servers: readonly Server[], options: { random?: () => number; onSloMiss?: 'least_bad' | 'shed' } = {}) {
  const clock = new ManualClock();
  const predictions: Prediction[] = [];
  const sheds: string[] = [];
  const events = fanOut([{ routingPrediction: (e) => predictions.push(e), sloShed: (e) => sheds.push(e.alias) }], (err) => {
    throw err;
  });
  const balancer = new PredictedLatencyBalancer({ clock, events, alias: 'chat', onSloMiss: options.onSloMiss ?? 'least_bad' }, options.random ?? (() => 0.5));
  const targets = servers.map((server, index) => {
    const stats = new TargetStats();
    const candidate: LoadCandidate & { server: Server } = { index, weight: 1, priority: 0, latencyMs: () => stats.ttftMs, stats, load: new DeploymentLoad(), deploymentName: `d${index}`, server };
    return candidate;
  });
  /** One attempt on `t` that found `inFlight` others there, answered as its server says, ending now (features as attempt.ts records them). */
  const serve = (t: (typeof targets)[number], promptTokens: number, outputTokens: number, inFlight: number, override?: { ttftMs?: number; tpotMs?: number }): void => {
    const s = t.server;
    const ttftMs = override?.ttftMs ?? s.base + (s.perKiloToken * promptTokens) / 1000 + s.perInFlight * inFlight;
    const tpotMs = override?.tpotMs ?? s.tpot + s.tpotPerInFlight * inFlight;
    clock.advance(10);
    const features = t.stats.wantsFeatures ? { inputTokens: promptTokens, prefixHit: 0, inFlight, inFlightTokens: inFlight * 1000, waiting: undefined, kvCacheUsage: undefined } : undefined;
    t.stats.observe({ endMs: clock.nowMs(), outcome: 'success', stream: true, durationMs: ttftMs + tpotMs * (outputTokens - 1), ttftMs, outputTokens, features });
  };
  /** Subscribes the balancer (its first picks) and trains every target on varied prompts and loads. */
  const warm = (samples = 40, outputTokens = (r: () => number) => 20 + Math.floor(r() * 200)): void => {
    for (let i = 0; i < targets.length; i++) balancer.pick(targets);
    const random = seededRandom(99);
    for (const t of targets) for (let i = 0; i < samples; i++) serve(t, Math.floor(random() * 8000), outputTokens(random), Math.floor(random() * 6));
  };
  return { clock, balancer, targets, serve, warm, predictions, sheds };
}

function request(promptTokens: number, outputTokens: number, slo?: Slo, blocks: readonly number[] = []): RouteRequest {
  return new RouteRequest({ promptTokens, outputTokens }, true, () => blocks, slo);
}

const fastPrefill: Server = { base: 50, perKiloToken: 20, perInFlight: 30, tpot: 40, tpotPerInFlight: 2 };
const fastDecode: Server = { base: 50, perKiloToken: 200, perInFlight: 30, tpot: 10, tpotPerInFlight: 1 };

describe('PredictedLatencyBalancer', () => {
  it('sends long prompts to the fast-prefill deployment and long answers to the fast-decode one', () => {
    const f = fleet([fastPrefill, fastDecode]);
    f.warm();
    expect(f.balancer.pick(f.targets, request(8000, 10))?.deploymentName).toBe('d0');
    expect(f.balancer.pick(f.targets, request(200, 2000))?.deploymentName).toBe('d1');
  });

  it('expects the smaller of the reserve and the typical answer: a large default reserve does not make decode dominate', () => {
    const f = fleet([fastPrefill, fastDecode]);
    // Answers of about 5 tokens: a 4,000-token prompt is then a prefill question, whatever its 4,096-token reserve.
    f.warm(40, () => 5);
    expect(f.balancer.pick(f.targets, request(4000, 4096))?.deploymentName).toBe('d0');
  });

  it('avoids the deployment with more requests in flight when the servers are alike', () => {
    const f = fleet([fastPrefill, fastPrefill]);
    f.warm();
    f.targets[0]!.load.begin(1000);
    f.targets[0]!.load.begin(1000);
    expect(f.balancer.pick(f.targets, request(1000, 50))?.deploymentName).toBe('d1');
    f.targets[0]!.load.end(1000);
    f.targets[0]!.load.end(1000);
    for (let i = 0; i < 3; i++) f.targets[1]!.load.begin(1000);
    expect(f.balancer.pick(f.targets, request(1000, 50))?.deploymentName).toBe('d0');
  });

  it('counts a prefix the deployment was recently sent as cached prompt (fewer tokens to prefill)', () => {
    const f = fleet([fastDecode, fastDecode]);
    f.warm();
    const blocks = [11, 12, 13, 14];
    f.targets[1]!.load.rememberPrefix(blocks);
    expect(f.balancer.pick(f.targets, request(6000, 20, undefined, blocks))?.deploymentName).toBe('d1');
    expect(f.balancer.pick(f.targets, request(6000, 20, undefined, [21, 22]))?.deploymentName).toBe('d0');
  });

  it('shares a burst between deployments predicted alike: within NEAR_BEST the one with fewer tokens in flight wins', () => {
    // Identical servers whose models learned nothing of load (every sample at the same load):
    // greedy routing would send the whole burst to whichever is a hair faster.
    const flat: Server = { base: 50, perKiloToken: 20, perInFlight: 0, tpot: 40, tpotPerInFlight: 0 };
    const f = fleet([flat, { ...flat, base: 52 }]);
    f.warm(40);
    const counts = [0, 0];
    for (let i = 0; i < 20; i++) {
      const t = f.balancer.pick(f.targets, request(1000, 50))!;
      t.load.begin(1050);
      counts[t.index]!++;
    }
    expect(counts[0]).toBeGreaterThanOrEqual(8);
    expect(counts[1]).toBeGreaterThanOrEqual(8);
    // Outside the band the faster one still wins, whatever its load.
    const g = fleet([fastPrefill, { ...fastPrefill, base: 2000 }]);
    g.warm(40);
    for (let i = 0; i < 3; i++) g.targets[0]!.load.begin(1050);
    expect(g.balancer.pick(g.targets, request(1000, 50))?.deploymentName).toBe('d0');
  });

  it('before a model is ready, counts the requests in flight against the deployment’s average', () => {
    const f = fleet([fastPrefill, fastPrefill]);
    f.balancer.pick(f.targets);
    f.balancer.pick(f.targets);
    f.serve(f.targets[0]!, 1000, 50, 0, { ttftMs: 100 });
    f.serve(f.targets[1]!, 1000, 50, 0, { ttftMs: 120 });
    expect(f.balancer.pick(f.targets, request(1000, 50))?.deploymentName).toBe('d0');
    f.targets[0]!.load.begin(1050);
    // d0: 100 ms × (1 + 1) against d1: 120 ms × 1.
    expect(f.balancer.pick(f.targets, request(1000, 50))?.deploymentName).toBe('d1');
  });

  describe('with an SLO', () => {
    // d0: TTFT ≈ 100 ms, TPOT ≈ 50 ms; d1: TTFT ≈ 400 ms, TPOT ≈ 10 ms.
    const quickStart: Server = { base: 100, perKiloToken: 0, perInFlight: 0, tpot: 50, tpotPerInFlight: 0 };
    const quickDecode: Server = { base: 400, perKiloToken: 0, perInFlight: 0, tpot: 10, tpotPerInFlight: 0 };

    it('picks a deployment predicted to meet every objective with headroom', () => {
      const f = fleet([quickStart, quickDecode]);
      f.warm();
      expect(f.balancer.pick(f.targets, request(500, 100, { ttftMs: 200 }))?.deploymentName).toBe('d0');
      expect(f.balancer.pick(f.targets, request(500, 5, { tpotMs: 20 }))?.deploymentName).toBe('d1');
      // Both meet: the best predicted end-to-end (d1: 400 + 10 × 99 < d0: 100 + 50 × 99).
      expect(f.balancer.pick(f.targets, request(500, 100, { ttftMs: 1000, tpotMs: 100 }))?.deploymentName).toBe('d1');
    });

    it('least_bad: when none meets, the one closest to meeting (smallest worst ratio)', () => {
      const f = fleet([quickStart, quickDecode]);
      f.warm();
      // d0: max(100/200, 50/20) = 2.5; d1: max(400/200, 10/20) = 2.
      expect(f.balancer.pick(f.targets, request(500, 100, { ttftMs: 200, tpotMs: 20 }))?.deploymentName).toBe('d1');
      // 110 ms: d0's 100 ms lacks the 20 % headroom, but it is the least bad.
      expect(f.balancer.pick(f.targets, request(500, 100, { ttftMs: 110 }))?.deploymentName).toBe('d0');
      expect(f.sheds).toEqual([]);
    });

    it('shed: refuses with a 503 slo_unattainable and counts it, when none meets with headroom', () => {
      const f = fleet([quickStart, quickDecode], { onSloMiss: 'shed' });
      f.warm();
      expect(f.balancer.pick(f.targets, request(500, 100, { ttftMs: 150 }))?.deploymentName).toBe('d0');
      let thrown: unknown;
      try {
        f.balancer.pick(f.targets, request(500, 100, { ttftMs: 110 }));
      } catch (err) {
        thrown = err;
      }
      expect(thrown).toBeInstanceOf(GatewayError);
      expect(thrown).toMatchObject({ code: 'slo_unattainable', status: 503, retryAfterMs: 1000 });
      expect(f.sheds).toEqual(['chat']);
    });
  });

  describe('exploration', () => {
    it('gives a never-measured deployment a trial first, then routes on predictions while it is out', () => {
      const f = fleet([fastPrefill, fastPrefill]);
      expect(f.balancer.pick(f.targets, request(100, 10))?.deploymentName).toBe('d0');
      expect(f.balancer.pick(f.targets, request(100, 10))?.deploymentName).toBe('d1');
      // Neither has answered: nothing to compare, so a draw (the injected random: 0.5 → d1).
      expect(f.balancer.pick(f.targets, request(100, 10))?.deploymentName).toBe('d1');
      f.serve(f.targets[0]!, 100, 10, 0);
      expect(f.balancer.pick(f.targets, request(100, 10))?.deploymentName).toBe('d0');
    });

    it('tries a deployment again after STALE_AFTER_MS without a sample, and returns to it once it has recovered', () => {
      // a is the faster (70 ms to first token for these requests, b 220 ms) until it turns slow.
      const f = fleet([fastPrefill, { ...fastPrefill, base: 200 }]);
      f.warm();
      const [a, b] = [f.targets[0]!, f.targets[1]!];
      expect(f.balancer.pick(f.targets, request(1000, 20))).toBe(a);
      // a turns slow: 3 s to first token; the model learns it and routing leaves it.
      for (let i = 0; i < 30; i++) f.serve(a, 1000, 20, 0, { ttftMs: 3000 });
      const picks: string[] = [];
      for (let i = 0; i < STALE_AFTER_MS / 1000 + 5; i++) {
        f.clock.advance(1000);
        const t = f.balancer.pick(f.targets, request(1000, 20))!;
        picks.push(t.deploymentName);
        if (t === b) f.serve(b, 1000, 20, 0);
      }
      // Only b, until a's window without samples ran out: then one trial on a.
      const trial = picks.indexOf('d0');
      expect(trial).toBeGreaterThan(STALE_AFTER_MS / 1000 - 5);
      expect(picks.filter((p) => p === 'd0')).toHaveLength(1);
      // a has recovered (50 ms): from its trial on, it is preferred again.
      f.serve(a, 1000, 20, 0, { ttftMs: 50 });
      expect(f.balancer.pick(f.targets, request(1000, 20))).toBe(a);
    });

    it('gives a stale deployment its trial with a request without an SLO, not one with an SLO', () => {
      const f = fleet([fastPrefill, { ...fastPrefill, base: 200 }]);
      f.warm();
      const [a, b] = [f.targets[0]!, f.targets[1]!];
      f.clock.advance(STALE_AFTER_MS);
      f.serve(a, 1000, 20, 0);
      expect(f.balancer.pick(f.targets, request(1000, 20))).toBe(b);
      f.clock.advance(STALE_AFTER_MS - 5000);
      f.serve(a, 1000, 20, 0);
      expect(f.balancer.pick(f.targets, request(1000, 20))).toBe(a);
      f.clock.advance(5000);
      f.serve(a, 1000, 20, 0);
      // b is due a trial again; requests with an SLO go on to a while some without one keep coming.
      expect(f.balancer.pick(f.targets, request(1000, 20, { ttftMs: 500 }))).toBe(a);
      expect(f.balancer.pick(f.targets, request(1000, 20))).toBe(b);
      // An alias whose every request states an SLO: after a window without any other, they take it.
      f.clock.advance(STALE_AFTER_MS);
      f.serve(a, 1000, 20, 0);
      expect(f.balancer.pick(f.targets, request(1000, 20, { ttftMs: 500 }))).toBe(b);
    });

    it('ε-greedy: about EXPLORE_EPSILON of requests without an SLO go to a drawn deployment; none with an SLO', () => {
      const f = fleet([fastPrefill, fastDecode], { random: seededRandom(7) });
      f.warm();
      let explored = 0;
      const n = 4000;
      for (let i = 0; i < n; i++) if (f.balancer.pick(f.targets, request(8000, 10))?.deploymentName === 'd1') explored++;
      // Half the draws land on the best deployment anyway.
      expect(explored / n).toBeGreaterThan(EXPLORE_EPSILON / 2 - 0.01);
      expect(explored / n).toBeLessThan(EXPLORE_EPSILON / 2 + 0.01);
      for (let i = 0; i < 500; i++) expect(f.balancer.pick(f.targets, request(8000, 10, { ttftMs: 60_000 }))?.deploymentName).toBe('d0');
    });
  });

  it('reports the prediction each attempt would have got against what it observed, once a model is ready', () => {
    const f = fleet([fastPrefill]);
    f.balancer.pick(f.targets);
    const t = f.targets[0]!;
    const random = seededRandom(5);
    for (let i = 0; i < 9; i++) f.serve(t, Math.floor(random() * 8000), 50, Math.floor(random() * 6));
    expect(f.predictions).toEqual([]);
    for (let i = 0; i < 40; i++) f.serve(t, Math.floor(random() * 8000), 50, Math.floor(random() * 6));
    expect(f.predictions.length).toBeGreaterThan(40);
    const last = f.predictions.slice(-2);
    expect(last.map((p) => [p.alias, p.deployment, p.kind])).toEqual([['chat', 'd0', 'ttft'], ['chat', 'd0', 'tpot']]);
    for (const p of last) {
      expect(Number.isFinite(p.predictedMs) && p.predictedMs >= 0).toBe(true);
      expect(Math.abs(p.predictedMs - p.observedMs) / p.observedMs).toBeLessThan(0.01);
    }
  });

  it('is not poisoned by garbage samples: routing and reported predictions stay sane', () => {
    const f = fleet([fastPrefill, fastDecode]);
    f.warm();
    const bad = { inputTokens: Number.NaN, prefixHit: 0, inFlight: -3, inFlightTokens: Number.POSITIVE_INFINITY, waiting: undefined, kvCacheUsage: 7 };
    for (const t of f.targets) {
      for (let i = 0; i < 20; i++) {
        f.clock.advance(10);
        t.stats.observe({ endMs: f.clock.nowMs(), outcome: 'success', stream: true, durationMs: 1e9, ttftMs: 1e9, outputTokens: 5, features: bad });
        t.stats.observe({ endMs: f.clock.nowMs(), outcome: 'success', stream: true, durationMs: Number.NaN, ttftMs: Number.NaN, outputTokens: 5, features: { ...bad, inFlight: 1, inFlightTokens: 0, inputTokens: 10, kvCacheUsage: 0 } });
      }
    }
    const before = f.predictions.length;
    for (const t of f.targets) f.serve(t, 4000, 20, 1);
    for (const p of f.predictions.slice(before)) expect(Math.abs(p.predictedMs - p.observedMs) / p.observedMs).toBeLessThan(0.01);
    expect(f.balancer.pick(f.targets, request(8000, 10))?.deploymentName).toBe('d0');
    expect(f.balancer.pick(f.targets, request(200, 2000))?.deploymentName).toBe('d1');
  });

  it('returns undefined for no candidates', () => {
    expect(fleet([]).balancer.pick([])).toBeUndefined();
  });
});

describe('PredictedLatencyBalancer: load beyond what a model learns from', () => {
  // Features past the model's range (over 10M tokens in flight, a scrape saying over 1M
  // waiting) are garbage to learn from, but at pick time they are the most load there is: the
  // deployment must not then be predicted at its bare average TTFT, as if it were idle.
  function twoAlike() {
    const f = fleet([fastPrefill, fastPrefill]);
    for (let i = 0; i < f.targets.length; i++) f.balancer.pick(f.targets);
    for (const t of f.targets) for (let i = 0; i < 3; i++) f.serve(t, 1000, 10, 0, { ttftMs: 100, tpotMs: 10 });
    return f;
  }

  it('a client holding over 10M tokens in flight on a deployment does not make it look idle to others', () => {
    const f = twoAlike();
    // Two requests of n = 8 × max_tokens 700k each on d0; one small one on d1.
    f.targets[0]!.load.begin(5_600_000);
    f.targets[0]!.load.begin(5_600_000);
    f.targets[1]!.load.begin(1000);
    expect(f.balancer.pick(f.targets, request(1000, 10))?.deploymentName).toBe('d1');
  });

  it('a scrape reporting an absurd queue does not make its deployment look idle', () => {
    const f = twoAlike();
    const load = f.targets[0]!.load;
    load.begin(1000);
    load.begin(1000);
    load.scraped = { atMs: f.clock.nowMs(), waiting: 2_000_000 };
    f.targets[1]!.load.begin(1000);
    expect(f.balancer.pick(f.targets, request(1000, 10))?.deploymentName).toBe('d1');
  });
});
