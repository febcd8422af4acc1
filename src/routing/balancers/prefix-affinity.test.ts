import { describe, it, expect } from 'vitest';
import { ManualClock } from '../../clock.js';
import { loadCandidate, observeTtft, type TestCandidate } from '../../testing/load-candidate.js';
import { seededRandom } from '../../testing/seeded-random.js';
import { textPrefixBlocks } from '../prefix.js';
import { RouteRequest } from '../route-request.js';
import { LOAD_BOUND, PrefixAffinityBalancer, rendezvousWeight } from './prefix-affinity.js';

const fleet = (n: number): TestCandidate[] => Array.from({ length: n }, (_, i) => loadCandidate(i, { deploymentName: `gpu-${i}` }));

function request(prompt: string): RouteRequest {
  return new RouteRequest({ promptTokens: prompt.length / 4, outputTokens: 100 }, true, () => textPrefixBlocks(prompt));
}

/** A prompt: a system prompt shared by `tenant`, then `turn`'s own text (each ≥ one block). */
const prompt = (tenant: number, turn = 0): string => `system prompt of tenant ${tenant}. `.repeat(20) + `question ${turn}. `.repeat(30);

/** Picks for `req` and plays the attempt: in flight, and its blocks remembered. */
function send(balancer: PrefixAffinityBalancer, candidates: readonly TestCandidate[], req: RouteRequest): TestCandidate {
  const c = balancer.pick(candidates, req)!;
  c.load.begin(req.tokens);
  const blocks = req.prefixBlocksIfComputed;
  if (blocks !== undefined && blocks.length > 0) c.load.rememberPrefix(blocks);
  return c;
}

function finish(c: TestCandidate): void {
  c.load.end(0);
}

describe('PrefixAffinityBalancer', () => {
  it('sends requests sharing a prefix to the same deployment', () => {
    const candidates = fleet(4);
    const balancer = new PrefixAffinityBalancer(seededRandom(1), new ManualClock());
    for (const tenant of [1, 2, 3]) {
      const home = send(balancer, candidates, request(prompt(tenant, 0)));
      finish(home);
      for (let turn = 1; turn < 20; turn++) {
        const c = send(balancer, candidates, request(prompt(tenant, turn)));
        expect(c).toBe(home);
        finish(c);
      }
    }
  });

  it('prefers the longest recent match over a shorter one and over the rendezvous home', () => {
    const candidates = fleet(3);
    const balancer = new PrefixAffinityBalancer(seededRandom(1), new ManualClock());
    const blocks = request(prompt(9, 1)).prefixBlocks();
    const byWeight = [...candidates].sort((a, b) => rendezvousWeight(blocks[0]!, b.deploymentName) - rendezvousWeight(blocks[0]!, a.deploymentName));
    const [home, second, third] = byWeight as [TestCandidate, TestCandidate, TestCandidate];
    expect(balancer.pick(candidates, request(prompt(9, 1)))).toBe(home);
    third.load.rememberPrefix(blocks.slice(0, 1));
    expect(balancer.pick(candidates, request(prompt(9, 1)))).toBe(third);
    second.load.rememberPrefix(blocks.slice(0, 5));
    expect(balancer.pick(candidates, request(prompt(9, 1)))).toBe(second);
  });

  it('places a new prefix by rendezvous hashing: stable, independent of candidate order', () => {
    const candidates = fleet(5);
    const req = request(prompt(4));
    const first = req.prefixBlocks()[0]!;
    const expected = candidates.reduce((a, b) => (rendezvousWeight(first, b.deploymentName) > rendezvousWeight(first, a.deploymentName) ? b : a));
    const balancer = new PrefixAffinityBalancer(seededRandom(1), new ManualClock());
    expect(balancer.pick(candidates, req)).toBe(expected);
    expect(balancer.pick([...candidates].reverse(), req)).toBe(expected);
  });

  it('spills a hot prefix over at the load bound, to a stable second home, and never beyond the bound', () => {
    const n = 4;
    const candidates = fleet(n);
    const balancer = new PrefixAffinityBalancer(seededRandom(1), new ManualClock());
    const homes = new Set<TestCandidate>();
    // 40 concurrent requests of one tenant, none finished.
    for (let k = 0; k < 40; k++) {
      const total = candidates.reduce((s, c) => s + c.load.inFlight, 0);
      const capacity = Math.ceil((LOAD_BOUND * (total + 1)) / n);
      const c = send(balancer, candidates, request(prompt(7, k)));
      expect(c.load.inFlight).toBeLessThanOrEqual(capacity);
      homes.add(c);
    }
    const loads = candidates.map((c) => c.load.inFlight);
    expect(Math.max(...loads)).toBeLessThanOrEqual(Math.ceil((LOAD_BOUND * 40) / n));
    expect(homes.size).toBe(n);
    // Once the burst ends, the prefix goes back to its first home.
    const first = request(prompt(7, 99));
    const home = [...homes][0]!;
    for (const c of candidates) while (c.load.inFlight > 0) finish(c);
    expect(balancer.pick(candidates, first)).toBe(home);
  });

  it('spreads distinct prefixes over the deployments', () => {
    const candidates = fleet(4);
    const balancer = new PrefixAffinityBalancer(seededRandom(1), new ManualClock());
    const counts = new Map<TestCandidate, number>();
    for (let tenant = 0; tenant < 400; tenant++) {
      const c = send(balancer, candidates, request(prompt(tenant)));
      finish(c);
      counts.set(c, (counts.get(c) ?? 0) + 1);
    }
    expect(counts.size).toBe(4);
    for (const k of counts.values()) expect(k / 400).toBeCloseTo(0.25, 1);
  });

  it('when a deployment is removed, only the prefixes it held move', () => {
    const candidates = fleet(5);
    const balancer = new PrefixAffinityBalancer(seededRandom(1), new ManualClock());
    const tenants = Array.from({ length: 200 }, (_, t) => t);
    const before = tenants.map((t) => balancer.pick(candidates, request(prompt(t))));
    const removed = candidates[2]!;
    const rest = candidates.filter((c) => c !== removed);
    const after = tenants.map((t) => balancer.pick(rest, request(prompt(t))));
    let moved = 0;
    for (const t of tenants) {
      if (before[t] === removed) moved++;
      else expect(after[t]).toBe(before[t]);
    }
    expect(moved).toBeGreaterThan(0);
  });

  it('balances a request with no prefix blocks as least_loaded', () => {
    const candidates = fleet(2);
    observeTtft(candidates[0]!, 100, 0);
    observeTtft(candidates[1]!, 100, 0);
    for (let i = 0; i < 3; i++) candidates[0]!.load.begin(1);
    const empty = new RouteRequest({ promptTokens: 1, outputTokens: 1 }, false, () => []);
    const balancer = new PrefixAffinityBalancer(seededRandom(1), new ManualClock());
    for (let i = 0; i < 10; i++) expect(balancer.pick(candidates, empty)).toBe(candidates[1]);
    expect(balancer.pick(candidates)).toBe(candidates[1]);
  });

  it('returns the only candidate, or undefined for none, without hashing the prompt', () => {
    let hashed = 0;
    const req = new RouteRequest({ promptTokens: 1, outputTokens: 1 }, false, () => {
      hashed++;
      return [1];
    });
    const balancer = new PrefixAffinityBalancer(seededRandom(1), new ManualClock());
    const [only] = fleet(1);
    expect(balancer.pick([only!], req)).toBe(only);
    expect(balancer.pick([], req)).toBeUndefined();
    expect(hashed).toBe(0);
  });
});
