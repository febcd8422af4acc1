import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { ManualClock, type Clock } from '../clock.js';
import type { HedgeConfig, RetryConfig } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import { gatewayEventNames, type GatewayEvents } from '../observability/events.js';
import { errorTypeForStatus } from '../providers/chunks.js';
import type { Balancer } from '../routing/balancer.js';
import { createBalancer } from '../routing/balancers/create-balancer.js';
import { MemoryCooldowns } from '../routing/cooldowns.js';
import type { RuntimeDeployment, RuntimeModel, RuntimeTarget } from '../routing/runtime-types.js';
import { testDeployment, testTargets } from '../testing/runtime-routes.js';
import { ClientGoneError } from './abort-reasons.js';
import type { BreakerOptions } from './breaker.js';
import { classifyStatus, classifyThrown } from './classify.js';
import { ExecuteError, Executor, type AttemptResult, type ExecuteInput } from './execute.js';
import { HedgeLostError } from './hedge-attempt.js';
import { RetryBudget } from './retry-budget.js';

// Hedging by time to first token (docs/routing.md "Hedging"). Timers are vitest's fake timers,
// moved together with the executor's ManualClock; attempts are promises the test settles.


function deployment(name: string, clock: Clock, breaker: Partial<BreakerOptions> = {}): RuntimeDeployment {
  return testDeployment(name, clock, breaker);
}

/** An alias over deployments, `priority` strategy: the first offered deployment is always picked. */
function model(deployments: readonly RuntimeDeployment[], hedge: HedgeConfig | undefined, alias = 'chat'): RuntimeModel {
  const targets = testTargets(alias, deployments);
  return { alias, targets, balancer: createBalancer('priority', () => 0.5), fallbacks: [], fallbackOnUnsupportedParameter: false, defaultOutputReserve: 100, ownedBy: 'test', ...(hedge ? { hedge } : {}) };
}

const retry: RetryConfig = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 4, maxRetryAfterMs: 60_000, defaultCooldownMs: 5_000, maxCooldownMs: 300_000, budgetPercent: 20, budgetMinConcurrent: 3 };

/** One attempt in flight: the test answers it; an abort of its signal ends it as a real attempt would. */
interface Call {
  readonly deployment: string;
  readonly n: number;
  readonly signal: AbortSignal;
  ok(value?: string): void;
  status(status: number): void;
}

function controllable() {
  const calls: Call[] = [];
  const attempt = (target: RuntimeTarget, n: number, signal: AbortSignal): Promise<AttemptResult<string>> =>
    new Promise((resolve) => {
      const name = target.deployment.name;
      signal.addEventListener('abort', () => resolve({ ok: false, failure: classifyThrown(signal.reason, signal, name) }), { once: true });
      calls.push({
        deployment: name,
        n,
        signal,
        ok: (value = `served by ${name}`) => resolve({ ok: true, value }),
        status: (status) => resolve({ ok: false, failure: classifyStatus(status, { message: `status ${status}`, type: errorTypeForStatus(status), code: null, param: null }, undefined, name) }),
      });
    });
  const call = (deployment: string): Call => {
    const c = calls.find((x) => x.deployment === deployment);
    if (!c) throw new Error(`no call to ${deployment}`);
    return c;
  };
  return { attempt, calls, call };
}

function setup() {
  const clock = new ManualClock(1_000);
  const log: Array<{ name: keyof GatewayEvents; e: unknown }> = [];
  const events = {} as Record<keyof GatewayEvents, (e: unknown) => void>;
  for (const name of gatewayEventNames) events[name] = (e: unknown) => log.push({ name, e });
  const executor = new Executor({ clock, retry, budget: new RetryBudget({ percent: 20, minConcurrent: 3 }), events: events as unknown as GatewayEvents, random: () => 0.5, cooldowns: new MemoryCooldowns(clock) });
  /** Moves the clock and the timers together, running what becomes due. */
  const tick = async (ms: number): Promise<void> => {
    clock.advance(ms);
    await vi.advanceTimersByTimeAsync(ms);
  };
  const hedges = (): unknown[] => log.filter((l) => l.name === 'hedge').map((l) => (l.e as { outcome: string }).outcome);
  return { clock, log, executor, tick, hedges };
}

function run(executor: Executor, m: RuntimeModel, attempt: ExecuteInput<string>['attempt'], extra: Partial<ExecuteInput<string>> = {}) {
  return executor.run<string>({ requestId: 'req-1', plan: { groups: [m] }, signal: new AbortController().signal, deadlineMs: Infinity, attempt, ...extra });
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Executor: hedging', () => {
  it('starts the hedge on another deployment after afterMs, not before', async () => {
    const { clock, executor, tick, hedges } = setup();
    const m = model([deployment('a', clock), deployment('b', clock)], { afterMs: 100, maxPercent: 10 });
    const { attempt, calls, call } = controllable();
    const done = run(executor, m, attempt);
    await tick(99);
    expect(calls.map((c) => c.deployment)).toEqual(['a']);
    await tick(1);
    expect(calls.map((c) => [c.deployment, c.n])).toEqual([['a', 1], ['b', 2]]);
    expect(hedges()).toEqual(['started']);
    call('b').ok();
    await expect(done).resolves.toMatchObject({ value: 'served by b', target: m.targets[1], attempts: 2 });
  });

  it('the hedge answering first wins: the first attempt is stopped through its own signal, its breaker untold', async () => {
    const { clock, executor, tick, hedges, log } = setup();
    // Half-open with one probe slot: the first attempt holds it, and the loser must give it back.
    const a = deployment('a', clock, { failureThreshold: 1, openMs: 100, halfOpenProbes: 1 });
    a.breaker.tryAcquire()?.failure();
    clock.advance(100);
    expect(a.breaker.state).toBe('half_open');
    const m = model([a, deployment('b', clock)], { afterMs: 100, maxPercent: 10 });
    const { attempt, call } = controllable();
    const request = new AbortController();
    const done = run(executor, m, attempt, { signal: request.signal });
    await tick(100);
    call('b').ok();
    const served = await done;
    expect(served.target.deployment.name).toBe('b');
    expect(call('a').signal.aborted).toBe(true);
    expect(call('a').signal.reason).toBeInstanceOf(HedgeLostError);
    expect(call('b').signal.aborted).toBe(false);
    expect(request.signal.aborted).toBe(false);
    expect(hedges()).toEqual(['started', 'won']);
    expect(a.breaker.state).toBe('half_open');
    expect(a.breaker.tryAcquire()).not.toBeUndefined();
    // Being outrun is no failure: no retry follows.
    expect(log.filter((l) => l.name === 'retry')).toEqual([]);
  });

  it('the first attempt answering after the hedge started wins: the hedge is stopped, counted lost', async () => {
    const { clock, executor, tick, hedges } = setup();
    const b = deployment('b', clock, { failureThreshold: 1 });
    const m = model([deployment('a', clock), b], { afterMs: 100, maxPercent: 10 });
    const { attempt, call } = controllable();
    const done = run(executor, m, attempt);
    await tick(150);
    call('a').ok();
    await expect(done).resolves.toMatchObject({ value: 'served by a', attempts: 2 });
    expect(call('b').signal.reason).toBeInstanceOf(HedgeLostError);
    expect(b.breaker.state).toBe('closed');
    expect(hedges()).toEqual(['started', 'lost']);
  });

  it('a loser that had answered too is discarded, once', async () => {
    const { clock, executor, tick } = setup();
    const m = model([deployment('a', clock), deployment('b', clock)], { afterMs: 100, maxPercent: 10 });
    const { attempt, call } = controllable();
    const discard = vi.fn();
    const done = run(executor, m, attempt, { discard });
    await tick(100);
    call('b').ok('from b');
    call('a').ok('from a');
    const served = await done;
    expect(served.value).toBe('from b');
    expect(discard.mock.calls).toEqual([['from a']]);
  });

  it('an answer before the threshold: no hedge, and the timer is gone', async () => {
    const { clock, executor, tick, hedges } = setup();
    const m = model([deployment('a', clock), deployment('b', clock)], { afterMs: 100, maxPercent: 10 });
    const { attempt, calls, call } = controllable();
    const done = run(executor, m, attempt);
    await tick(50);
    call('a').ok();
    await expect(done).resolves.toMatchObject({ attempts: 1 });
    expect(vi.getTimerCount()).toBe(0);
    await tick(1_000);
    expect(calls).toHaveLength(1);
    expect(hedges()).toEqual([]);
  });

  it('an alias without hedge runs its attempt on the request signal itself, with no timer', async () => {
    const { clock, executor } = setup();
    const m = model([deployment('a', clock), deployment('b', clock)], undefined);
    const { attempt, call } = controllable();
    const request = new AbortController();
    const done = run(executor, m, attempt, { signal: request.signal });
    await vi.advanceTimersByTimeAsync(0);
    expect(call('a').signal).toBe(request.signal);
    expect(vi.getTimerCount()).toBe(0);
    call('a').ok();
    await done;
  });

  it('no other deployment: no_target, and the first attempt goes on', async () => {
    const { clock, executor, tick, hedges } = setup();
    const m = model([deployment('a', clock)], { afterMs: 100, maxPercent: 10 });
    const { attempt, calls, call } = controllable();
    const done = run(executor, m, attempt);
    await tick(200);
    expect(hedges()).toEqual(['no_target']);
    call('a').ok();
    await expect(done).resolves.toMatchObject({ attempts: 1 });
    expect(calls).toHaveLength(1);
  });

  it('the first attempt failing while the hedge runs waits for the hedge; the failure still counts for its breaker', async () => {
    const { clock, executor, tick, hedges } = setup();
    const a = deployment('a', clock, { failureThreshold: 1 });
    const m = model([a, deployment('b', clock), deployment('c', clock)], { afterMs: 100, maxPercent: 10 });
    const { attempt, calls, call } = controllable();
    const done = run(executor, m, attempt);
    await tick(100);
    call('a').status(500);
    await tick(10);
    expect(calls).toHaveLength(2);
    call('b').ok();
    await expect(done).resolves.toMatchObject({ value: 'served by b', attempts: 2 });
    expect(a.breaker.state).toBe('open');
    expect(hedges()).toEqual(['started', 'won']);
  });

  it('both failing goes on with the retry loop, the last failure leading; one hedge per request', async () => {
    const { clock, executor, tick, hedges, log } = setup();
    const m = model([deployment('a', clock), deployment('b', clock), deployment('c', clock)], { afterMs: 100, maxPercent: 100 });
    const { attempt, calls, call } = controllable();
    const done = run(executor, m, attempt);
    await tick(100);
    call('a').status(500);
    call('b').status(503);
    await tick(0);
    expect(calls.map((c) => [c.deployment, c.n])).toEqual([['a', 1], ['b', 2], ['c', 3]]);
    expect(log.filter((l) => l.name === 'retry').map((l) => (l.e as { fromDeployment: string }).fromDeployment)).toEqual(['b']);
    // The retry is slow too, but the request already hedged once.
    await tick(1_000);
    expect(calls).toHaveLength(3);
    call('c').status(500);
    const err = await done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecuteError);
    expect((err as ExecuteError).attempts).toBe(3);
    expect(hedges()).toEqual(['started', 'lost']);
  });

  it('the client leaving aborts both attempts with its own reason; one error', async () => {
    const { clock, executor, tick } = setup();
    const m = model([deployment('a', clock), deployment('b', clock)], { afterMs: 100, maxPercent: 10 });
    const { attempt, call } = controllable();
    const request = new AbortController();
    const done = run(executor, m, attempt, { signal: request.signal });
    await tick(100);
    request.abort(new ClientGoneError());
    const err = (await done.catch((e: unknown) => e)) as ExecuteError;
    expect(err).toBeInstanceOf(ExecuteError);
    expect(err.outcome).toBe('aborted');
    expect(err.attempts).toBe(2);
    expect(call('a').signal.reason).toBeInstanceOf(ClientGoneError);
    expect(call('b').signal.reason).toBeInstanceOf(ClientGoneError);
  });

  it('p95: hedges after the first deployment’s observed p95 TTFT; without samples, never', async () => {
    const { clock, executor, tick, hedges } = setup();
    const m = model([deployment('a', clock), deployment('b', clock)], { afterMs: 'p95', maxPercent: 100 });
    const { attempt, calls, call } = controllable();
    const first = run(executor, m, attempt);
    await tick(10_000);
    expect(calls).toHaveLength(1);
    call('a').ok();
    await first;
    // 100 samples on "a": TTFT 1..100 ms, so its p95 is 95 ms.
    for (let i = 1; i <= 100; i++) m.targets[0]!.stats.observe({ endMs: clock.nowMs(), outcome: 'success', stream: true, durationMs: i + 10, ttftMs: i, outputTokens: 2 });
    expect(m.targets[0]!.stats.ttftP95()).toBe(95);
    calls.length = 0;
    const second = run(executor, m, attempt);
    await tick(94);
    expect(calls).toHaveLength(1);
    await tick(1);
    expect(calls.map((c) => c.deployment)).toEqual(['a', 'b']);
    call('b').ok();
    await second;
    expect(hedges()).toEqual(['started', 'won']);
  });
});

describe('Executor: hedge budget', () => {
  it('100 slow requests at 10 % start 10 hedges; the rest are refused as budget_exhausted', async () => {
    const { clock, executor, tick, hedges } = setup();
    const m = model([deployment('a', clock), deployment('b', clock)], { afterMs: 100, maxPercent: 10 });
    const { attempt, calls } = controllable();
    const runs = Array.from({ length: 100 }, () => run(executor, m, attempt));
    await tick(100);
    const outcomes = hedges();
    expect(outcomes.filter((o) => o === 'started')).toHaveLength(10);
    expect(outcomes.filter((o) => o === 'budget_exhausted')).toHaveLength(90);
    expect(calls.filter((c) => c.deployment === 'b')).toHaveLength(10);
    for (const c of calls) c.ok();
    await Promise.all(runs);
  });

  it('a quiet alias may still hedge its one slow request', async () => {
    const { clock, executor, tick, hedges } = setup();
    const m = model([deployment('a', clock), deployment('b', clock)], { afterMs: 100, maxPercent: 10 });
    const { attempt, call } = controllable();
    const done = run(executor, m, attempt);
    await tick(100);
    expect(hedges()).toEqual(['started']);
    call('b').ok();
    await done;
  });
});

describe('Executor: a strategy that refuses the hedge', () => {
  // predicted_latency with onSloMiss: shed throws slo_unattainable when no candidate is predicted
  // to meet the request's SLO. At the hedge's pick the candidates are only the untried ones, so
  // the one deployment predicted to meet it (already running the request) is not among them: the
  // refusal must mean "no hedge", not fail a request that is being served, nor leave its first
  // attempt running unowned (its permit, its in-flight count, a committed stream never ended).
  it('a balancer throwing at the hedge pick: no hedge (no_target), the first attempt goes on and answers', async () => {
    const { clock, executor, tick, hedges } = setup();
    const m = model([deployment('a', clock), deployment('b', clock)], { afterMs: 100, maxPercent: 10 });
    let picks = 0;
    const shedsAfterFirst: Balancer = {
      pick(candidates) {
        if (picks++ === 0) return candidates[0];
        throw new GatewayError('slo_unattainable', 'No deployment of model chat is predicted to meet the request\'s latency objectives.', { retryAfterMs: 1000 });
      },
    };
    const shedding: RuntimeModel = { ...m, balancer: shedsAfterFirst };
    const { attempt, calls, call } = controllable();
    const done = run(executor, shedding, attempt);
    const settled = done.then(
      (v) => ({ v }),
      (e: unknown) => ({ e }),
    );
    await tick(100);
    expect(calls.map((c) => c.deployment)).toEqual(['a']);
    expect(hedges()).toEqual(['no_target']);
    call('a').ok();
    expect(await settled).toMatchObject({ v: { value: 'served by a', target: shedding.targets[0], attempts: 1 } });
    expect(call('a').signal.aborted).toBe(false);
  });

  it('a balancer with a bug at the hedge pick: the first attempt is stopped before the request fails', async () => {
    const { clock, executor, tick } = setup();
    const m = model([deployment('a', clock), deployment('b', clock)], { afterMs: 100, maxPercent: 10 });
    let picks = 0;
    const broken: Balancer = {
      pick(candidates) {
        if (picks++ === 0) return candidates[0];
        throw new TypeError('a bug in a strategy');
      },
    };
    const { attempt, call } = controllable();
    const settled = run(executor, { ...m, balancer: broken }, attempt).then(
      (v) => ({ v }),
      (e: unknown) => ({ e }),
    );
    await tick(100);
    const result = await settled;
    expect(result).toMatchObject({ e: { outcome: 'internal' } });
    expect(call('a').signal.aborted).toBe(true);
  });
});
