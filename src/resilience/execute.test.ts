import { describe, expect, it } from 'vitest';
import { ManualClock, systemClock, type Clock } from '../clock.js';
import type { RetryConfig } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import { gatewayEventNames, type GatewayEvents } from '../observability/events.js';
import { errorTypeForStatus } from '../providers/chunks.js';
import { UpstreamProtocolError } from '../providers/types.js';
import type { Strategy } from '../routing/balancer.js';
import { createBalancer } from '../routing/balancers/create-balancer.js';
import { MemoryCooldowns } from '../routing/cooldowns.js';
import type { RoutePlan, RuntimeDeployment, RuntimeModel, RuntimeTarget } from '../routing/runtime-types.js';
import { testDeployment, testTargets } from '../testing/runtime-routes.js';
import { ClientGoneError, DeadlineExceededError } from './abort-reasons.js';
import { backoffDelayMs } from './backoff.js';
import type { BreakerOptions } from './breaker.js';
import { classifyStatus, classifyThrown } from './classify.js';
import { ExecuteError, Executor, type AttemptResult } from './execute.js';
import { RetryBudget } from './retry-budget.js';

// The executor never touches the endpoint (only attempt functions send), so none is built.
const half = (): number => 0.5;

type EventLog = Array<{ name: keyof GatewayEvents; e: unknown }>;

function recordingEvents(log: EventLog, on: Partial<GatewayEvents> = {}): GatewayEvents {
  const out = {} as Record<keyof GatewayEvents, (e: unknown) => void>;
  for (const name of gatewayEventNames) {
    out[name] = (e: unknown) => {
      log.push({ name, e });
      (on[name] as ((e: unknown) => void) | undefined)?.(e);
    };
  }
  return out as unknown as GatewayEvents;
}

function deployment(name: string, clock: Clock, breaker: Partial<BreakerOptions> = {}): RuntimeDeployment {
  return testDeployment(name, clock, breaker);
}

/** A model alias over deployments; with `priority` the first deployment is always preferred if offered. */
function model(alias: string, deployments: readonly RuntimeDeployment[], strategy: Strategy = 'priority', fallbacks: string[] = []): RuntimeModel {
  const targets = testTargets(alias, deployments);
  return { alias, targets, balancer: createBalancer(strategy, half), fallbacks, fallbackOnUnsupportedParameter: false, defaultOutputReserve: 100, ownedBy: 'test' };
}

const baseRetry: RetryConfig = {
  maxAttempts: 3,
  baseDelayMs: 1,
  maxDelayMs: 4,
  maxRetryAfterMs: 60_000,
  defaultCooldownMs: 5_000,
  maxCooldownMs: 300_000,
  budgetPercent: 20,
  budgetMinConcurrent: 3,
};

type Step = number | 'ok' | { status: number; retryAfterMs?: number } | { throw: unknown };

/** An attempt function that answers from a script per deployment (default: success). */
function scripted(script: Record<string, Step[]>) {
  const calls: Array<{ deployment: string; alias: string; attempt: number }> = [];
  const attempt = async (target: RuntimeTarget, attemptNumber: number): Promise<AttemptResult<string>> => {
    const name = target.deployment.name;
    calls.push({ deployment: name, alias: target.alias, attempt: attemptNumber });
    const step = script[name]?.shift() ?? 'ok';
    if (step === 'ok') return { ok: true, value: `served by ${name}` };
    if (typeof step === 'object' && 'throw' in step) return { ok: false, failure: classifyThrown(step.throw, new AbortController().signal, name) };
    const status = typeof step === 'number' ? step : step.status;
    const retryAfterMs = typeof step === 'number' ? undefined : step.retryAfterMs;
    const info = { message: `status ${status}`, type: errorTypeForStatus(status), code: null, param: null };
    return { ok: false, failure: classifyStatus(status, info, retryAfterMs, name) };
  };
  return { attempt, calls };
}

interface SetupOptions {
  retry?: Partial<RetryConfig>;
  budget?: RetryBudget;
  clock?: Clock;
  on?: Partial<GatewayEvents>;
}

function setup(options: SetupOptions = {}) {
  const clock = options.clock ?? new ManualClock(1_000);
  const log: EventLog = [];
  const budget = options.budget ?? new RetryBudget({ percent: 20, minConcurrent: 3 });
  const retry = { ...baseRetry, ...options.retry };
  const cooldowns = new MemoryCooldowns(clock);
  const executor = new Executor({ clock, retry, budget, events: recordingEvents(log, options.on), random: half, cooldowns });
  return { clock, log, budget, retry, executor, cooldowns };
}

function input(plan: RoutePlan, attempt: (t: RuntimeTarget, n: number) => Promise<AttemptResult<string>>, signal = new AbortController().signal, deadlineMs = Infinity) {
  return { requestId: 'req-1', plan, signal, deadlineMs, attempt };
}

async function executeError(p: Promise<unknown>): Promise<ExecuteError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(ExecuteError);
    return err as ExecuteError;
  }
  throw new Error('expected an ExecuteError');
}

const eventsNamed = (log: EventLog, name: keyof GatewayEvents): unknown[] => log.filter((l) => l.name === name).map((l) => l.e);

describe('Executor: first attempt', () => {
  it('returns the value, the target and attempts = 1', async () => {
    const { executor, clock } = setup();
    const a = deployment('a', clock);
    const m = model('gpt-mini', [a, deployment('b', clock)]);
    const { attempt, calls } = scripted({});
    const done = await executor.run(input({ groups: [m] }, attempt));
    expect(done).toEqual({ value: 'served by a', target: m.targets[0], attempts: 1 });
    expect(calls).toEqual([{ deployment: 'a', alias: 'gpt-mini', attempt: 1 }]);
  });
});

describe('Executor: retries', () => {
  it.each([500, 502, 503, 504, 408, 529, { throw: Object.assign(new Error('x'), { code: 'ECONNREFUSED' }) }, { throw: new UpstreamProtocolError('bad') }])(
    'after %j the second attempt goes to an untried deployment, at once',
    async (failure) => {
      const { executor, clock, log } = setup();
      const m = model('gpt-mini', [deployment('a', clock), deployment('b', clock), deployment('c', clock)]);
      const { attempt, calls } = scripted({ a: [failure as Step] });
      const done = await executor.run(input({ groups: [m] }, attempt));
      // The priority balancer would pick "a" again if it were offered.
      expect(calls.map((c) => c.deployment)).toEqual(['a', 'b']);
      expect(calls.map((c) => c.attempt)).toEqual([1, 2]);
      expect(done.attempts).toBe(2);
      expect(done.target.deployment.name).toBe('b');
      expect(eventsNamed(log, 'retry')).toEqual([{ requestId: 'req-1', alias: 'gpt-mini', fromDeployment: 'a', reason: expect.any(String), delayMs: 0 }]);
    },
  );

  it('tries every deployment before coming back to one already tried', async () => {
    const { executor, clock } = setup({ retry: { maxAttempts: 4 } });
    const m = model('gpt-mini', [deployment('a', clock), deployment('b', clock), deployment('c', clock)]);
    const { attempt, calls } = scripted({ a: [500, 500], b: [500], c: [500] });
    await executeError(executor.run(input({ groups: [m] }, attempt)));
    expect(calls.map((c) => c.deployment)).toEqual(['a', 'b', 'c', 'a']);
  });

  it.each([400, 401, 403, 404, 422])('a non-retryable %d stops at once (no retry, no fallback)', async (status) => {
    const { executor, clock, log } = setup();
    const primary = model('gpt-mini', [deployment('a', clock), deployment('b', clock)], 'priority', ['backup']);
    const backup = model('backup', [deployment('c', clock)]);
    const { attempt, calls } = scripted({ a: [status] });
    const err = await executeError(executor.run(input({ groups: [primary, backup] }, attempt)));
    expect(calls).toHaveLength(1);
    expect(err.attempts).toBe(1);
    expect(err.outcome).toBe('client_error');
    expect(err.error.code).toBe(status === 401 || status === 403 ? 'upstream_error' : 'upstream_client_error');
    expect(eventsNamed(log, 'retry')).toEqual([]);
    expect(eventsNamed(log, 'fallback')).toEqual([]);
  });

  it('when every attempt fails the last failure is what the client gets', async () => {
    const { executor, clock } = setup({ retry: { maxAttempts: 2 } });
    const m = model('gpt-mini', [deployment('a', clock), deployment('b', clock)]);
    const { attempt } = scripted({ a: [500], b: [504] });
    const err = await executeError(executor.run(input({ groups: [m] }, attempt)));
    expect(err.attempts).toBe(2);
    expect(err.outcome).toBe('timeout');
    expect(err.error.code).toBe('upstream_timeout');
    expect(err.error.message).toContain("'b'");
  });
});

describe('Executor: fallbacks', () => {
  it.each([
    { maxAttempts: 1, primary: ['a'] },
    { maxAttempts: 2, primary: ['a', 'b'] },
    { maxAttempts: 3, primary: ['a', 'b', 'a'] },
  ])('maxAttempts $maxAttempts per alias, then the fallback group with a fallback event', async ({ maxAttempts, primary }) => {
    const { executor, clock, log } = setup({ retry: { maxAttempts } });
    const gptMini = model('gpt-mini', [deployment('a', clock), deployment('b', clock)], 'priority', ['backup']);
    const backup = model('backup', [deployment('c', clock)]);
    const { attempt, calls } = scripted({ a: [500, 500], b: [500] });
    const done = await executor.run(input({ groups: [gptMini, backup] }, attempt));
    expect(calls.map((c) => c.deployment)).toEqual([...primary, 'c']);
    expect(calls.at(-1)).toEqual({ deployment: 'c', alias: 'backup', attempt: primary.length + 1 });
    expect(done.target.alias).toBe('backup');
    expect(done.attempts).toBe(primary.length + 1);
    expect(eventsNamed(log, 'fallback')).toEqual([{ requestId: 'req-1', from: 'gpt-mini', to: 'backup' }]);
  });

  it('a breaker that opens during the backoff sends the retry to the fallback alias, not to the client', async () => {
    // Another request trips "a" while this one sleeps before retrying it (seen in the demo).
    let a: RuntimeDeployment | undefined;
    const { executor, clock, log, budget } = setup({ retry: { maxAttempts: 3 }, on: { retry: () => a?.breaker.tryAcquire()?.failure() } });
    a = deployment('a', clock, { failureThreshold: 2 });
    const gptMini = model('gpt-mini', [a], 'priority', ['backup']);
    const backup = model('backup', [deployment('c', clock)]);
    const { attempt, calls } = scripted({ a: [500] });
    const done = await executor.run(input({ groups: [gptMini, backup] }, attempt));
    expect(a.breaker.state).toBe('open');
    expect(calls.map((c) => c.deployment)).toEqual(['a', 'c']);
    expect(done.target.alias).toBe('backup');
    expect(eventsNamed(log, 'fallback')).toEqual([{ requestId: 'req-1', from: 'gpt-mini', to: 'backup' }]);
    expect(budget.activeRetries).toBe(0);
  });

  it('an alias with nothing available is skipped for its fallback', async () => {
    const { executor, clock, log } = setup();
    const a = deployment('a', clock, { failureThreshold: 1 });
    a.breaker.tryAcquire()?.failure();
    expect(a.breaker.state).toBe('open');
    const gptMini = model('gpt-mini', [a], 'priority', ['backup']);
    const backup = model('backup', [deployment('c', clock)]);
    const { attempt, calls } = scripted({});
    const done = await executor.run(input({ groups: [gptMini, backup] }, attempt));
    expect(calls.map((c) => c.deployment)).toEqual(['c']);
    expect(done.attempts).toBe(1);
    expect(eventsNamed(log, 'fallback')).toHaveLength(1);
  });
});

describe('Executor: provider 429 cooldown', () => {
  it.each([
    { retryAfterMs: 2_000, cooldown: 2_000 },
    { retryAfterMs: undefined, cooldown: baseRetry.defaultCooldownMs },
  ])('429 (Retry-After $retryAfterMs) cools the deployment for $cooldown ms and the next pick skips it', async ({ retryAfterMs, cooldown }) => {
    const clock = new ManualClock(1_000);
    const { executor, log, cooldowns } = setup({ clock });
    const a = deployment('a', clock);
    const m = model('gpt-mini', [a, deployment('b', clock)]);
    const first = scripted({ a: [retryAfterMs === undefined ? 429 : { status: 429, retryAfterMs }] });
    const done = await executor.run(input({ groups: [m] }, first.attempt));
    expect(first.calls.map((c) => c.deployment)).toEqual(['a', 'b']);
    expect(done.target.deployment.name).toBe('b');
    expect(cooldowns.untilMs('a')).toBe(1_000 + cooldown);
    expect(eventsNamed(log, 'cooldown')).toEqual([{ deployment: 'a', durationMs: cooldown }]);
    // A 429 says nothing about health.
    expect(a.breaker.state).toBe('closed');

    // A new request while "a" cools goes straight to "b"...
    const second = scripted({});
    await executor.run(input({ groups: [m] }, second.attempt));
    expect(second.calls.map((c) => c.deployment)).toEqual(['b']);
    // ...and once the cooldown is over, "a" is preferred again.
    clock.advance(cooldown);
    const third = scripted({});
    await executor.run(input({ groups: [m] }, third.attempt));
    expect(third.calls.map((c) => c.deployment)).toEqual(['a']);
  });

  it('a short Retry-After on the only deployment is waited out, then retried without extra backoff', async () => {
    const { executor, log } = setup({ clock: systemClock });
    const a = deployment('a', systemClock);
    const m = model('gpt-mini', [a]);
    const { attempt, calls } = scripted({ a: [{ status: 429, retryAfterMs: 20 }] });
    const started = performance.now();
    const done = await executor.run(input({ groups: [m] }, attempt));
    expect(performance.now() - started).toBeGreaterThanOrEqual(15);
    expect(calls.map((c) => c.deployment)).toEqual(['a', 'a']);
    expect(done.attempts).toBe(2);
    expect(eventsNamed(log, 'retry')).toEqual([expect.objectContaining({ reason: 'rate_limited', delayMs: 0 })]);
  });

  it('a cooldown longer than maxRetryAfterMs is not waited: no_available_deployment with its Retry-After', async () => {
    const clock = new ManualClock(1_000);
    const { executor } = setup({ clock, retry: { maxRetryAfterMs: 10_000 } });
    const a = deployment('a', clock);
    const m = model('gpt-mini', [a]);
    const { attempt, calls } = scripted({ a: [{ status: 429, retryAfterMs: 30_000 }] });
    const err = await executeError(executor.run(input({ groups: [m] }, attempt)));
    expect(calls).toHaveLength(1);
    // The attempt that was made failed with the provider's 429.
    expect(err.error.code).toBe('upstream_rate_limited');
    expect(err.error.retryAfterMs).toBe(30_000);
    expect(err.attempts).toBe(1);
  });
});

describe('Executor: the final 429 says when to come back (F-04)', () => {
  it('429s without Retry-After on every deployment → retryAfterMs is the earliest cooldown left; lastTarget is the last deployment tried', async () => {
    const clock = new ManualClock(1_000);
    const { executor } = setup({ clock, retry: { maxAttempts: 2, defaultCooldownMs: 4_000 } });
    const a = deployment('a', clock);
    const b = deployment('b', clock);
    const m = model('gpt-mini', [a, b]);
    const attempt = async (target: RuntimeTarget): Promise<AttemptResult<string>> => {
      // Time passes during each attempt, so the two cooldowns end at different instants.
      clock.advance(500);
      const info = { message: 'throttled', type: errorTypeForStatus(429), code: null, param: null };
      return { ok: false, failure: classifyStatus(429, info, undefined, target.deployment.name) };
    };
    const err = await executeError(executor.run(input({ groups: [m] }, attempt)));
    expect(err.error.code).toBe('upstream_rate_limited');
    // a cooled from 1_500 to 5_500, b from 2_000 to 6_000; it is now 2_000.
    expect(err.error.retryAfterMs).toBe(3_500);
    expect(err.lastTarget?.deployment.name).toBe('b');
  });

  it('a cooldown almost over still asks for at least 1 s', async () => {
    const clock = new ManualClock(1_000);
    const { executor } = setup({ clock, retry: { maxAttempts: 1, defaultCooldownMs: 50 } });
    const { attempt } = scripted({ a: [429] });
    const err = await executeError(executor.run(input({ groups: [model('gpt-mini', [deployment('a', clock)])] }, attempt)));
    expect(err.error.retryAfterMs).toBe(1_000);
  });
});

describe('Executor: nothing available', () => {
  it('all breakers open → no_available_deployment 503 with retryAfterMs, no attempt made', async () => {
    const clock = new ManualClock(1_000);
    const { executor } = setup({ clock });
    const deployments = ['a', 'b'].map((n) => deployment(n, clock, { failureThreshold: 1, openMs: 30_000, maxOpenMs: 300_000 }));
    for (const d of deployments) d.breaker.tryAcquire()?.failure();
    clock.advance(10_000);
    const m = model('gpt-mini', deployments);
    const { attempt, calls } = scripted({});
    const err = await executeError(executor.run(input({ groups: [m] }, attempt)));
    expect(calls).toEqual([]);
    expect(err.attempts).toBe(0);
    expect(err.outcome).toBe('no_target');
    expect(err.error.code).toBe('no_available_deployment');
    expect(err.error.status).toBe(503);
    expect(err.error.retryAfterMs).toBe(20_000);
  });

  it('retryAfterMs is the soonest of breakers and cooldowns across all groups, at least 1 s', async () => {
    const clock = new ManualClock(1_000);
    const { executor, cooldowns } = setup({ clock, retry: { maxRetryAfterMs: 1 } });
    const a = deployment('a', clock, { failureThreshold: 1, openMs: 30_000 });
    a.breaker.tryAcquire()?.failure();
    const b = deployment('b', clock);
    cooldowns.start('b', 12_000);
    const c = deployment('c', clock);
    cooldowns.start('c', 400);
    const primary = model('gpt-mini', [a, b], 'priority', ['backup']);
    const backup = model('backup', [c]);
    const { attempt } = scripted({});
    const err = await executeError(executor.run(input({ groups: [primary] }, attempt)));
    expect(err.error.retryAfterMs).toBe(12_000);
    const both = await executeError(executor.run(input({ groups: [primary, backup] }, attempt)));
    expect(both.error.retryAfterMs).toBe(1_000);
  });

  it('an empty plan → no_available_deployment', async () => {
    const { executor } = setup();
    const err = await executeError(executor.run(input({ groups: [] }, scripted({}).attempt)));
    expect(err.error.code).toBe('no_available_deployment');
    expect(err.outcome).toBe('no_target');
  });
});

describe('Executor: circuit breakers', () => {
  it('server errors count toward the breaker; 429 and 4xx do not', async () => {
    const clock = new ManualClock(1_000);
    const { executor } = setup({ clock, retry: { maxAttempts: 1 } });
    const a = deployment('a', clock, { failureThreshold: 2 });
    const m = model('gpt-mini', [a]);
    const run = (step: Step) => executor.run(input({ groups: [m] }, scripted({ a: [step] }).attempt)).catch(() => undefined);
    await run(400);
    await run(404);
    await run({ status: 429, retryAfterMs: 0 });
    expect(a.breaker.state).toBe('closed');
    await run(500);
    expect(a.breaker.state).toBe('closed');
    await run(503);
    expect(a.breaker.state).toBe('open');
  });

  it('a success closes the count again', async () => {
    const clock = new ManualClock(1_000);
    const { executor } = setup({ clock, retry: { maxAttempts: 1 } });
    const a = deployment('a', clock, { failureThreshold: 2 });
    const m = model('gpt-mini', [a]);
    const run = (step: Step) => executor.run(input({ groups: [m] }, scripted({ a: [step] }).attempt)).catch(() => undefined);
    await run(500);
    await run('ok');
    await run(500);
    expect(a.breaker.state).toBe('closed');
  });

  it('a half-open deployment whose probe slot is taken is routed around', async () => {
    const clock = new ManualClock(1_000);
    const { executor } = setup({ clock });
    const a = deployment('a', clock, { failureThreshold: 1, openMs: 100, maxOpenMs: 100 });
    a.breaker.tryAcquire()?.failure();
    clock.advance(100);
    expect(a.breaker.state).toBe('half_open');
    const probe = a.breaker.tryAcquire();
    expect(probe).toBeDefined();
    const m = model('gpt-mini', [a, deployment('b', clock)]);
    const { attempt, calls } = scripted({});
    await executor.run(input({ groups: [m] }, attempt));
    expect(calls.map((c) => c.deployment)).toEqual(['b']);
  });
});

describe('Executor: retry budget (spent only by another try on a deployment that failed this request)', () => {
  const spent = (): RetryBudget => new RetryBudget({ percent: 0, minConcurrent: 0 });

  it('with the budget spent, the alias\'s untried deployment is still tried (the demo\'s gpt-stable)', async () => {
    const budget = spent();
    const { executor, clock, log } = setup({ budget });
    const m = model('gpt-stable', [deployment('flaky', clock), deployment('healthy', clock)]);
    const { attempt, calls } = scripted({ flaky: [500] });
    const done = await executor.run(input({ groups: [m] }, attempt));
    expect(calls.map((c) => c.deployment)).toEqual(['flaky', 'healthy']);
    expect(done.attempts).toBe(2);
    expect(eventsNamed(log, 'retryBudgetExhausted')).toEqual([]);
    expect(budget.activeRetries).toBe(0);
  });

  it('with the budget spent, a healthy fallback alias is still tried', async () => {
    const { executor, clock } = setup({ budget: spent() });
    const m = model('gpt-mini', [deployment('a', clock)], 'priority', ['backup']);
    const backup = model('backup', [deployment('c', clock)]);
    const { attempt, calls } = scripted({ a: [502] });
    const done = await executor.run(input({ groups: [m, backup] }, attempt));
    expect(calls.map((c) => `${c.alias}/${c.deployment}`)).toEqual(['gpt-mini/a', 'backup/c']);
    expect(done.target.alias).toBe('backup');
  });

  it('with the budget spent, another try on a failed deployment is refused: the alias gives way to its fallback', async () => {
    const budget = spent();
    const { executor, clock, log } = setup({ budget });
    const m = model('gpt-mini', [deployment('a', clock, { failureThreshold: 10 })], 'priority', ['backup']);
    const backup = model('backup', [deployment('c', clock, { failureThreshold: 10 })]);
    const { attempt, calls } = scripted({ a: [502], c: [503] });
    const err = await executeError(executor.run(input({ groups: [m, backup] }, attempt)));
    expect(calls.map((c) => c.deployment)).toEqual(['a', 'c']);
    expect(err.attempts).toBe(2);
    expect(err.outcome).toBe('server_error');
    expect(eventsNamed(log, 'retryBudgetExhausted')).toEqual([
      { requestId: 'req-1', alias: 'gpt-mini' },
      { requestId: 'req-1', alias: 'backup' },
    ]);
    expect(budget.activeRetries).toBe(0);
  });

  it('broad outage: the spent budget still caps attempts at one per deployment (3, where a free budget makes 6)', async () => {
    const outage = { a: [500, 500, 500], b: [500, 500, 500], c: [500, 500, 500] };
    const plan = (clock: Clock): RoutePlan => ({
      groups: [
        model('gpt-mini', [deployment('a', clock, { failureThreshold: 10 }), deployment('b', clock, { failureThreshold: 10 })], 'priority', ['backup']),
        model('backup', [deployment('c', clock, { failureThreshold: 10 })]),
      ],
    });
    const capped = setup({ budget: spent() });
    const cappedRun = scripted(structuredClone(outage));
    const err = await executeError(capped.executor.run(input(plan(capped.clock), cappedRun.attempt)));
    expect(cappedRun.calls.map((c) => c.deployment)).toEqual(['a', 'b', 'c']);
    expect(err.attempts).toBe(3);

    const free = setup({ budget: new RetryBudget({ percent: 0, minConcurrent: 10 }) });
    const freeRun = scripted(structuredClone(outage));
    await executeError(free.executor.run(input(plan(free.clock), freeRun.attempt)));
    expect(freeRun.calls.map((c) => c.deployment)).toEqual(['a', 'b', 'a', 'c', 'c', 'c']);
  });

  it('retries on the same deployment give their budget slot back when they finish', async () => {
    const budget = new RetryBudget({ percent: 0, minConcurrent: 1 });
    const { executor, clock } = setup({ budget, retry: { maxAttempts: 3 } });
    const m = model('gpt-mini', [deployment('a', clock, { failureThreshold: 10 })]);
    const { attempt, calls } = scripted({ a: [500, 500] });
    const done = await executor.run(input({ groups: [m] }, attempt));
    expect(calls.map((c) => c.deployment)).toEqual(['a', 'a', 'a']);
    expect(done.attempts).toBe(3);
    expect(budget.activeRetries).toBe(0);
  });

  it('the budget slot is held only during a retry on a failed deployment', async () => {
    const budget = new RetryBudget({ percent: 0, minConcurrent: 1 });
    const { executor, clock } = setup({ budget });
    const m = model('gpt-mini', [deployment('a', clock, { failureThreshold: 10 }), deployment('b', clock)]);
    const seen: number[] = [];
    const { attempt } = scripted({ a: [500], b: [500] });
    await executor.run(
      input({ groups: [m] }, async (t, n) => {
        seen.push(budget.activeRetries);
        return attempt(t, n);
      }),
    );
    // a (first), b (untried: free), a again (failed before: one slot).
    expect(seen).toEqual([0, 0, 1]);
    expect(budget.activeRetries).toBe(0);
  });
});

describe('Executor: targets that cannot express the request', () => {
  const refuseOn = (names: string[]) => (t: RuntimeTarget) =>
    names.includes(t.deployment.name) ? new GatewayError('unsupported_parameter', `'tools' is not supported by ${t.deployment.name}.`, { param: 'tools' }) : undefined;

  it('a refusing target is skipped without an attempt, a budget slot or a breaker outcome, even with maxAttempts 1', async () => {
    const budget = new RetryBudget({ percent: 0, minConcurrent: 0 });
    const { executor, clock } = setup({ budget, retry: { maxAttempts: 1 } });
    const triton = deployment('triton', clock, { failureThreshold: 1 });
    const m = model('cheap', [triton, deployment('vllm', clock)]);
    const { attempt, calls } = scripted({});
    const done = await executor.run({ ...input({ groups: [m] }, attempt), refusal: refuseOn(['triton']) });
    expect(calls.map((c) => c.deployment)).toEqual(['vllm']);
    expect(done.attempts).toBe(1);
    expect(triton.breaker.state).toBe('closed');
  });

  it('when no target of the alias can express it: the 400 naming the parameter, attempts 0, the fallback never reached', async () => {
    const { executor, clock, log } = setup();
    const m = model('cheap', [deployment('triton', clock)], 'priority', ['premium']);
    const premium = model('premium', [deployment('openai', clock)]);
    const admitted: string[] = [];
    const { attempt, calls } = scripted({});
    const err = await executeError(
      executor.run({ ...input({ groups: [m, premium] }, attempt), refusal: refuseOn(['triton']), admitFallback: async (g) => void admitted.push(g.alias) }),
    );
    expect(calls).toEqual([]);
    expect(admitted).toEqual([]);
    expect(err.attempts).toBe(0);
    expect(err.error.code).toBe('unsupported_parameter');
    expect(err.error.status).toBe(400);
    expect(err.error.param).toBe('tools');
    expect(err.outcome).toBe('client_error');
    expect(eventsNamed(log, 'fallback')).toEqual([]);
  });

  it('a target re-picked after a backoff gets its own refusal check (it was cooling down at the first pick)', async () => {
    const { executor, cooldowns } = setup({ clock: systemClock, retry: { baseDelayMs: 100, maxDelayMs: 100 } });
    // triton is preferred (priority) but cooling down at first, so a is picked; a fails, and the
    // retry's backoff (50 ms) outlasts triton's cooldown, so the re-pick after it is triton.
    const m = model('cheap', [deployment('triton', systemClock), deployment('a', systemClock)]);
    cooldowns.start('triton', 20);
    const { attempt, calls } = scripted({ a: [500] });
    const done = await executor.run({ ...input({ groups: [m] }, attempt), refusal: refuseOn(['triton']) });
    expect(calls.map((c) => c.deployment)).toEqual(['a', 'a']);
    expect(done.target.deployment.name).toBe('a');
  });

  it('fallbackOnUnsupportedParameter: true lets the fallback serve it', async () => {
    const { executor, clock } = setup();
    const m = { ...model('cheap', [deployment('triton', clock)], 'priority', ['premium']), fallbackOnUnsupportedParameter: true };
    const premium = model('premium', [deployment('openai', clock)]);
    const { attempt, calls } = scripted({});
    const done = await executor.run({ ...input({ groups: [m, premium] }, attempt), refusal: refuseOn(['triton']) });
    expect(calls.map((c) => c.deployment)).toEqual(['openai']);
    expect(done.target.alias).toBe('premium');
    expect(done.attempts).toBe(1);
  });
});

describe('Executor: fallback admission', () => {
  it('each fallback alias is admitted once, just before its first attempt; the first alias never by the executor', async () => {
    const { executor, clock } = setup({ retry: { maxAttempts: 2 } });
    const m = model('cheap', [deployment('a', clock)], 'priority', ['premium']);
    const premium = model('premium', [deployment('b', clock)]);
    const admitted: string[] = [];
    const { attempt, calls } = scripted({ a: [500, 500], b: [500] });
    const done = await executor.run({ ...input({ groups: [m, premium] }, attempt), admitFallback: async (g) => void admitted.push(`${g.alias}@${calls.length}`) });
    expect(admitted).toEqual(['premium@2']);
    expect(calls.map((c) => c.deployment)).toEqual(['a', 'a', 'b', 'b']);
    expect(done.target.alias).toBe('premium');
  });

  it('a fallback whose limit refuses is skipped; with nothing after it the client gets that 429', async () => {
    const clock = new ManualClock(1_000);
    const { executor } = setup({ clock, retry: { maxAttempts: 1 } });
    const m = model('cheap', [deployment('a', clock)], 'priority', ['premium']);
    // Half-open with one probe slot: the skipped alias must give the slot back.
    const b = deployment('b', clock, { failureThreshold: 1, openMs: 100, halfOpenProbes: 1 });
    b.breaker.tryAcquire()?.failure();
    clock.advance(100);
    expect(b.breaker.state).toBe('half_open');
    const premium = model('premium', [b]);
    const { attempt, calls } = scripted({ a: [500] });
    const limit = new GatewayError('rate_limit_exceeded', "Rate limit reached for 'premium'.", { retryAfterMs: 7_000 });
    const err = await executeError(
      executor.run({
        ...input({ groups: [m, premium] }, attempt),
        admitFallback: async () => {
          throw limit;
        },
      }),
    );
    expect(calls.map((c) => c.deployment)).toEqual(['a']);
    expect(err.error).toBe(limit);
    expect(err.attempts).toBe(1);
    // The probe permit taken for the skipped attempt was given back.
    expect(b.breaker.tryAcquire()).not.toBeUndefined();
  });
});

describe('Executor: internal errors', () => {
  it('an attempt that throws (a bug) → 500 internal_error, not retried, not counted against the breaker', async () => {
    const { executor, clock } = setup();
    const a = deployment('a', clock, { failureThreshold: 1 });
    const m = model('gpt-mini', [a, deployment('b', clock)]);
    const bug = new TypeError("Cannot read properties of undefined (reading 'choices')");
    let calls = 0;
    const err = await executeError(
      executor.run(
        input({ groups: [m] }, async () => {
          calls++;
          throw bug;
        }),
      ),
    );
    expect(calls).toBe(1);
    expect(err.outcome).toBe('internal');
    expect(err.error.code).toBe('internal_error');
    expect(err.error.status).toBe(500);
    expect(err.error.message).not.toContain('choices');
    expect(err.error.cause).toBe(bug);
    expect(a.breaker.state).toBe('closed');
  });

  it('a TypeError returned as a failure from a translator is internal too: no second attempt', async () => {
    const { executor, clock } = setup();
    const a = deployment('a', clock, { failureThreshold: 1 });
    const m = model('gpt-mini', [a, deployment('b', clock)]);
    const { attempt, calls } = scripted({ a: [{ throw: new TypeError('x is not a function') }] });
    const err = await executeError(executor.run(input({ groups: [m] }, attempt)));
    expect(calls.map((c) => c.deployment)).toEqual(['a']);
    expect(err.outcome).toBe('internal');
    expect(err.error.status).toBe(500);
    expect(a.breaker.state).toBe('closed');
  });
});

describe('Executor: backoff', () => {
  it('backs off only when retrying the same deployment (full jitter, random = 0.5)', async () => {
    const { executor, clock, log, retry } = setup({ retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 100 } });
    const m = model('gpt-mini', [deployment('a', clock), deployment('b', clock)]);
    const { attempt, calls } = scripted({ a: [500, 500], b: [500] });
    await executor.run(input({ groups: [m] }, attempt));
    expect(calls.map((c) => c.deployment)).toEqual(['a', 'b', 'a', 'a']);
    const delays = eventsNamed(log, 'retry').map((e) => (e as { delayMs: number }).delayMs);
    // a→b: other deployment, no wait. b→a: "a" is not the last target, no wait. a→a: backoff.
    expect(delays).toEqual([0, 0, backoffDelayMs(retry, 2, half)]);
    expect(delays[2]).toBe(2); // window 1 × 2^2 = 4, × 0.5
  });

  it('consecutive retries of a single deployment back off with growing windows', async () => {
    const { executor, clock, log, retry } = setup({ retry: { maxAttempts: 4, baseDelayMs: 1, maxDelayMs: 100 } });
    // A breaker that stays closed through three failures.
    const m = model('gpt-mini', [deployment('a', clock, { failureThreshold: 10 })]);
    const { attempt } = scripted({ a: [500, 500, 500] });
    await executor.run(input({ groups: [m] }, attempt));
    const delays = eventsNamed(log, 'retry').map((e) => (e as { delayMs: number }).delayMs);
    expect(delays).toEqual([0, 1, 2].map((i) => backoffDelayMs(retry, i, half)));
    expect(delays).toEqual([0.5, 1, 2]);
  });

  it('a backoff that would pass the deadline stops with the last failure', async () => {
    const clock = new ManualClock(1_000);
    const { executor, budget } = setup({ clock, retry: { baseDelayMs: 1_000, maxDelayMs: 1_000 } });
    const m = model('gpt-mini', [deployment('a', clock)]);
    const { attempt, calls } = scripted({ a: [503] });
    const err = await executeError(executor.run(input({ groups: [m] }, attempt, new AbortController().signal, 1_100)));
    expect(calls).toHaveLength(1);
    expect(err.error.code).toBe('upstream_error');
    expect(budget.activeRetries).toBe(0);
  });

  it.each([
    { name: 'client gone', reason: new ClientGoneError(), outcome: 'aborted' },
    { name: 'deadline', reason: new DeadlineExceededError(5_000), outcome: 'timeout' },
  ])('an abort during backoff ($name) → ExecuteError $outcome, no further attempt', async ({ reason, outcome }) => {
    const controller = new AbortController();
    const { executor, clock, budget } = setup({
      // A backoff long enough that only the abort can end it.
      retry: { baseDelayMs: 60_000, maxDelayMs: 60_000 },
      on: { retry: () => setTimeout(() => controller.abort(reason), 5) },
    });
    const a = deployment('a', clock);
    const m = model('gpt-mini', [a]);
    const { attempt, calls } = scripted({ a: [500] });
    const started = performance.now();
    const err = await executeError(executor.run(input({ groups: [m] }, attempt, controller.signal)));
    expect(performance.now() - started).toBeLessThan(5_000);
    expect(err.outcome).toBe(outcome);
    expect(err.attempts).toBe(1);
    expect(calls).toHaveLength(1);
    expect(budget.activeRetries).toBe(0);
    if (outcome === 'timeout') expect(err.error.code).toBe('upstream_timeout');
  });

  it('an already aborted signal makes no attempt', async () => {
    const controller = new AbortController();
    controller.abort(new ClientGoneError());
    const { executor, clock } = setup();
    const { attempt, calls } = scripted({});
    const err = await executeError(executor.run(input({ groups: [model('gpt-mini', [deployment('a', clock)])] }, attempt, controller.signal)));
    expect(calls).toEqual([]);
    expect(err.outcome).toBe('aborted');
    expect(err.attempts).toBe(0);
  });
});

describe('Executor: waits for a cooldown are bounded like the queue (queue on)', () => {
  it('refuses at once (outcome full) a wait past queue.maxPerTenant or queue.maxTotal waiting for cooldowns, instead of holding every request of a flood', async () => {
    const clock = new ManualClock(1_000);
    const log: EventLog = [];
    const cooldowns = new MemoryCooldowns(clock);
    const executor = new Executor({
      clock,
      retry: baseRetry,
      budget: new RetryBudget({ percent: 20, minConcurrent: 3 }),
      events: recordingEvents(log),
      random: half,
      cooldowns,
      queueMaxWaitMs: 10_000,
      queueBounds: { maxPerTenant: 1, maxTotal: 2 },
    });
    const a = deployment('a', clock);
    const m = model('gpt-mini', [a]);
    cooldowns.start('a', 5_000);
    const { attempt } = scripted({ a: ['ok', 'ok'] });
    const settled: Record<string, unknown> = {};
    const controllers: AbortController[] = [];
    const run = (name: string, tenant: string): Promise<unknown> => {
      const c = new AbortController();
      controllers.push(c);
      return executor.run({ ...input({ groups: [m] }, attempt, c.signal), tenant }).then(
        (v) => (settled[name] = v),
        (e: unknown) => (settled[name] = e),
      );
    };
    const all = [run('first', 't1'), run('sameTenant', 't1'), run('other', 't2'), run('overTotal', 't3')];
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
    // Two wait (one per tenant, two in all); the third of the flood and the tenant's second are refused now.
    expect(Object.keys(settled).sort()).toEqual(['overTotal', 'sameTenant']);
    expect(settled.sameTenant).toBeInstanceOf(ExecuteError);
    expect(settled.overTotal).toBeInstanceOf(ExecuteError);
    expect(eventsNamed(log, 'queueLeft').filter((e) => (e as { outcome: string }).outcome === 'full')).toHaveLength(2);
    for (const c of controllers) c.abort(new ClientGoneError());
    await Promise.all(all);
    expect(eventsNamed(log, 'queueEntered')).toHaveLength(2);
  });
});

describe('Executor: a strategy that refuses the request at a retry\'s re-pick', () => {
  // predicted_latency with onSloMiss: shed may throw slo_unattainable at any pick, including the
  // re-pick after a same-target backoff, when the retry already holds a retry-budget slot: the
  // slot must be given back, or every such request shrinks the budget for good.
  it('gives the retry-budget slot back when the re-pick after the backoff throws', async () => {
    const { executor, clock, budget } = setup();
    const m = model('chat', [deployment('only', clock)]);
    let picks = 0;
    const shedding: RuntimeModel = {
      ...m,
      balancer: {
        pick(candidates) {
          // The first attempt's pick and the retry's pick; the re-pick after the backoff sheds.
          if (++picks <= 2) return candidates[0];
          throw new GatewayError('slo_unattainable', 'No deployment of model chat is predicted to meet the request\'s latency objectives.', { retryAfterMs: 1000 });
        },
      },
    };
    const { attempt, calls } = scripted({ only: [500] });
    const err = await executeError(executor.run(input({ groups: [shedding] }, attempt)));
    expect(calls.map((c) => c.deployment)).toEqual(['only']);
    expect(err.error.code).toBe('slo_unattainable');
    expect(budget.activeRetries).toBe(0);
  });
});
