import { describe, expect, it, vi } from 'vitest';
import { parseChatRequest } from '../api/parse-chat.js';
import type { UsageRecord } from '../api/chat-types.js';
import type { Principal } from '../auth/principal.js';
import { ManualClock } from '../clock.js';
import type { LimitsConfig } from '../config/schema.js';
import { GatewayError } from '../errors/gateway-error.js';
import type { GatewayEvents } from '../observability/events.js';
import { MemoryConcurrencyLimiter, type ConcurrencyLimiter } from '../ratelimit/concurrency.js';
import { LimitUnavailableError } from '../ratelimit/fallback-limiter.js';
import { MemoryRateLimiter } from '../ratelimit/memory-limiter.js';
import { createBalancer } from '../routing/balancers/create-balancer.js';
import type { RuntimeModel } from '../routing/runtime-types.js';
import { Admission } from './admission.js';
import type { Priority } from '../queue/priority.js';
import { SlotQueue } from '../queue/slot-queue.js';
import { DeadlineExceededError } from '../resilience/abort-reasons.js';
import { chatOperation } from './operations.js';

/** What the pipeline reserves for a chat request: prompt estimate plus n × max output. */
function tokens(r: ReturnType<typeof request>, m: RuntimeModel, promptTokens: number) {
  return { promptTokens, outputTokens: chatOperation.outputReserve(r, m) };
}

type Decision = Parameters<GatewayEvents['rateLimitDecision']>[0];

function recordingEvents(decisions: Decision[]): GatewayEvents {
  const ignore = (): void => undefined;
  return {
    attemptFinished: ignore,
    routingPrediction: ignore,
    hedge: ignore,
    sloShed: ignore,
    upstreamMetricsScrape: ignore,
    retry: ignore,
    retryBudgetExhausted: ignore,
    fallback: ignore,
    cooldown: ignore,
    configReloaded: ignore,
    breakerTransition: ignore,
    rateLimitDecision: (e) => decisions.push(e),
    rateLimitDegraded: ignore,
    budgetDecision: ignore,
    budgetDegraded: ignore,
    budgetSoftLimitCrossed: ignore,
    budgetWebhook: ignore,
    stateError: ignore,
    stateBreakerTransition: ignore,
    usageEstimated: ignore,
    targetUnpriced: ignore,
    requestFinished: ignore,
    internalError: ignore,
    controlPlaneSynced: ignore,
    controlPlaneUnavailable: ignore,
    auditEventDropped: ignore,
    requestLogRows: ignore,
    requestLogBacklog: ignore,
    traceSpansDropped: ignore,
    queueEntered: ignore,
    queueLeft: ignore,
  };
}

const model: RuntimeModel = {
  alias: 'gpt-mini',
  targets: [],
  balancer: createBalancer('round_robin'),
  fallbacks: [],
  fallbackOnUnsupportedParameter: false,
  defaultOutputReserve: 100,
  ownedBy: 'test',
};

function principal(limits: LimitsConfig | undefined, tenant = 'acme'): Principal {
  return { tenant, mayUse: () => true, limitsFor: () => limits };
}

function request(extra: Record<string, unknown> = {}) {
  return parseChatRequest({ model: 'gpt-mini', messages: [{ role: 'user', content: 'x' }], ...extra });
}

function usage(promptTokens: number, completionTokens: number): UsageRecord {
  return { promptTokens, completionTokens, cachedTokens: 0, reasoningTokens: 0, estimated: false };
}

function setup(limits: LimitsConfig | undefined) {
  const clock = new ManualClock();
  const limiter = new MemoryRateLimiter(clock);
  const decisions: Decision[] = [];
  const admission = new Admission(limiter, recordingEvents(decisions));
  const who = principal(limits);
  return { clock, limiter, decisions, admission, who };
}

async function rejection(p: Promise<unknown>): Promise<GatewayError> {
  try {
    await p;
  } catch (err) {
    expect(err).toBeInstanceOf(GatewayError);
    return err as GatewayError;
  }
  throw new Error('expected a GatewayError');
}

/** Lets a fire-and-forget limiter.adjust() settle. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

// A refill so slow that ManualClock time never matters unless a test advances it a lot.
const slow = 1e-6;

describe('Admission: no limits', () => {
  it.each([undefined, {}])('limits %j → admitted, no headers, settle is a no-op', async (limits) => {
    const { admission, who, decisions } = setup(limits);
    for (let i = 0; i < 100; i++) {
      const t = await admission.admit(who, model, tokens(request(), model, 10));
      expect(t.headers).toEqual({});
      t.settle(usage(1, 1), undefined);
    }
    expect(decisions).toEqual([]);
  });
});

describe('Admission: request limit', () => {
  const limits: LimitsConfig = { requests: { capacity: 2, refillPerSecond: 1 } };

  it('admits up to capacity, then rejects with 429, retryAfterMs and x-ratelimit headers', async () => {
    const { admission, who, clock, decisions } = setup(limits);
    const first = await admission.admit(who, model, tokens(request(), model, 10));
    expect(first.headers).toEqual({
      'x-ratelimit-limit-requests': '2',
      'x-ratelimit-remaining-requests': '1',
      'x-ratelimit-reset-requests': '1s',
    });
    const second = await admission.admit(who, model, tokens(request(), model, 10));
    expect(second.headers['x-ratelimit-remaining-requests']).toBe('0');
    expect(second.headers['x-ratelimit-reset-requests']).toBe('2s');

    const err = await rejection(admission.admit(who, model, tokens(request(), model, 10)));
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.status).toBe(429);
    expect(err.type).toBe('rate_limit_error');
    expect(err.retryAfterMs).toBe(1000);
    expect(err.shouldRetry).toBe(true);
    expect(err.headers).toEqual({
      'x-ratelimit-limit-requests': '2',
      'x-ratelimit-remaining-requests': '0',
      'x-ratelimit-reset-requests': '2s',
    });
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, false]);
    expect(decisions[2]).toEqual({ tenant: 'acme', model: 'gpt-mini', kind: 'requests', allowed: false });

    clock.advance(999);
    expect((await rejection(admission.admit(who, model, tokens(request(), model, 10)))).retryAfterMs).toBe(1);
    clock.advance(1);
    await expect(admission.admit(who, model, tokens(request(), model, 10))).resolves.toMatchObject({ headers: { 'x-ratelimit-remaining-requests': '0' } });
  });

  it('buckets are per tenant and per model', async () => {
    const { admission, limiter } = setup(limits);
    const a = principal(limits, 'a');
    const b = principal(limits, 'b');
    const other: RuntimeModel = { ...model, alias: 'llama' };
    void limiter;
    for (let i = 0; i < 2; i++) await admission.admit(a, model, tokens(request(), model, 1));
    await expect(admission.admit(a, model, tokens(request(), model, 1))).rejects.toBeInstanceOf(GatewayError);
    // Each of the other buckets is still full: its first request leaves capacity − 1.
    await expect(admission.admit(b, model, tokens(request(), model, 1))).resolves.toMatchObject({ headers: { 'x-ratelimit-remaining-requests': '1' } });
    await expect(admission.admit(a, other, tokens(request(), other, 1))).resolves.toMatchObject({ headers: { 'x-ratelimit-remaining-requests': '1' } });
  });
});

describe('Admission: token reservation', () => {
  const capacity = 10_000;
  const limits: LimitsConfig = { tokens: { capacity, refillPerSecond: slow } };

  it.each([
    { name: 'max_tokens', extra: { max_tokens: 100 }, prompt: 50, reserved: 150 },
    { name: 'n × max_tokens', extra: { max_tokens: 100, n: 3 }, prompt: 50, reserved: 350 },
    { name: 'max_completion_tokens preferred', extra: { max_tokens: 100, max_completion_tokens: 40 }, prompt: 50, reserved: 90 },
    { name: 'defaultOutputReserve without max_tokens', extra: {}, prompt: 50, reserved: 150 },
    { name: 'n × defaultOutputReserve', extra: { n: 4 }, prompt: 7, reserved: 407 },
  ])('reserves prompt + n × (max_tokens or defaultOutputReserve): $name', async ({ extra, prompt, reserved }) => {
    const { admission, who } = setup(limits);
    const t = await admission.admit(who, model, tokens(request(extra), model, prompt));
    expect(t.headers['x-ratelimit-limit-tokens']).toBe(String(capacity));
    expect(t.headers['x-ratelimit-remaining-tokens']).toBe(String(capacity - reserved));
  });

  it.each([
    { name: 'refunds the unused part', used: usage(40, 60), next: capacity - 100 - 150 },
    { name: 'charges an overshoot', used: usage(100, 300), next: capacity - 400 - 150 },
    { name: 'exact usage changes nothing', used: usage(50, 100), next: capacity - 150 - 150 },
    { name: 'no usage charges the prompt estimate', used: undefined, next: capacity - 50 - 150 },
  ])('settle $name (the next request sees it)', async ({ used, next }) => {
    const { admission, who } = setup(limits);
    const t = await admission.admit(who, model, tokens(request({ max_tokens: 100 }), model, 50)); // reserves 150
    t.settle(used, undefined);
    await flush();
    const after = await admission.admit(who, model, tokens(request({ max_tokens: 100 }), model, 50));
    expect(after.headers['x-ratelimit-remaining-tokens']).toBe(String(next));
  });

  it('settle twice is a no-op', async () => {
    const { admission, who } = setup(limits);
    const t = await admission.admit(who, model, tokens(request({ max_tokens: 1000 }), model, 0)); // reserves 1000
    t.settle(usage(0, 10), undefined); // refund 990
    t.settle(usage(0, 5000), undefined); // ignored
    t.settle(undefined, undefined); // ignored
    await flush();
    const after = await admission.admit(who, model, tokens(request({ max_tokens: 1 }), model, 0));
    expect(after.headers['x-ratelimit-remaining-tokens']).toBe(String(capacity - 10 - 1));
  });

  it('a reservation that does not fit now → 429 with the wait until it fits', async () => {
    const { admission, who } = setup({ tokens: { capacity: 1000, refillPerSecond: 100 } });
    await admission.admit(who, model, tokens(request({ max_tokens: 800 }), model, 0));
    const err = await rejection(admission.admit(who, model, tokens(request({ max_tokens: 500 }), model, 0)));
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.status).toBe(429);
    // 200 left, 500 needed, 100 per second → 3 s.
    expect(err.retryAfterMs).toBe(3000);
    expect(err.headers?.['x-ratelimit-remaining-tokens']).toBe('200');
  });

  it.each([
    { name: 'max_tokens too big', extra: { max_tokens: 2000 }, prompt: 0 },
    { name: 'n × max_tokens too big', extra: { max_tokens: 400, n: 3 }, prompt: 0 },
    { name: 'prompt too big', extra: { max_tokens: 1 }, prompt: 1000 },
    { name: 'default reserve × n too big', extra: { n: 8 }, prompt: 300 },
  ])('an impossible reservation → invalid_request 400 ($name)', async ({ extra, prompt }) => {
    const { admission, who } = setup({ tokens: { capacity: 1000, refillPerSecond: 10 } });
    const err = await rejection(admission.admit(who, model, tokens(request(extra), model, prompt)));
    expect(err.code).toBe('invalid_request');
    expect(err.status).toBe(400);
    expect(err.param).toBe('max_tokens');
    // Nothing was taken: a request that fits still gets the whole bucket.
    const ok = await admission.admit(who, model, tokens(request({ max_tokens: 1000 }), model, 0));
    expect(ok.headers['x-ratelimit-remaining-tokens']).toBe('0');
  });

  it('a reservation exactly at capacity fits', async () => {
    const { admission, who } = setup({ tokens: { capacity: 1000, refillPerSecond: 10 } });
    await expect(admission.admit(who, model, tokens(request({ max_tokens: 990 }), model, 10))).resolves.toMatchObject({ headers: { 'x-ratelimit-remaining-tokens': '0' } });
  });
});

describe('Admission: both limits', () => {
  const limits: LimitsConfig = {
    requests: { capacity: 5, refillPerSecond: slow },
    tokens: { capacity: 1000, refillPerSecond: slow },
  };

  it('all or nothing: a token rejection does not spend a request', async () => {
    const { admission, who, decisions } = setup(limits);
    const first = await admission.admit(who, model, tokens(request({ max_tokens: 900 }), model, 0));
    expect(first.headers).toMatchObject({
      'x-ratelimit-limit-requests': '5',
      'x-ratelimit-remaining-requests': '4',
      'x-ratelimit-limit-tokens': '1000',
      'x-ratelimit-remaining-tokens': '100',
    });
    const err = await rejection(admission.admit(who, model, tokens(request({ max_tokens: 200 }), model, 0)));
    expect(err.code).toBe('rate_limit_exceeded');
    expect(err.message).toContain('tokens');
    expect(decisions.slice(-2)).toEqual([
      { tenant: 'acme', model: 'gpt-mini', kind: 'requests', allowed: true },
      { tenant: 'acme', model: 'gpt-mini', kind: 'tokens', allowed: false },
    ]);
    const next = await admission.admit(who, model, tokens(request({ max_tokens: 50 }), model, 0));
    expect(next.headers['x-ratelimit-remaining-requests']).toBe('3');
    expect(next.headers['x-ratelimit-remaining-tokens']).toBe('50');
  });

  it('settle only touches the token bucket', async () => {
    const { admission, who } = setup(limits);
    const t = await admission.admit(who, model, tokens(request({ max_tokens: 500 }), model, 0));
    t.settle(usage(0, 100), undefined);
    await flush();
    const next = await admission.admit(who, model, tokens(request({ max_tokens: 1 }), model, 0));
    expect(next.headers['x-ratelimit-remaining-requests']).toBe('3');
    expect(next.headers['x-ratelimit-remaining-tokens']).toBe(String(1000 - 100 - 1));
  });
});

describe('Admission: concurrency slots', () => {
  function concurrent(limits: LimitsConfig | undefined, maxInFlight: number) {
    const clock = new ManualClock();
    const slots = new MemoryConcurrencyLimiter();
    const decisions: Decision[] = [];
    const admission = new Admission(new MemoryRateLimiter(clock), recordingEvents(decisions), { concurrency: slots });
    const who: Principal = { ...principal(limits), concurrency: { maxInFlight } };
    return { slots, decisions, admission, who };
  }
  const reserve = { promptTokens: 10, outputTokens: 10 };

  it('holds a slot until settle (once), and refuses beyond maxInFlight with 429 concurrency_limit_exceeded', async () => {
    const { slots, decisions, admission, who } = concurrent(undefined, 2);
    const a = await admission.admit(who, model, reserve);
    await admission.admit(who, model, reserve);
    const err = await rejection(admission.admit(who, model, reserve));
    expect(err).toMatchObject({ code: 'concurrency_limit_exceeded', status: 429, retryAfterMs: 1000 });
    expect(slots.inFlight('acme')).toBe(2);
    a.settle(undefined, undefined);
    a.settle(undefined, undefined);
    expect(slots.inFlight('acme')).toBe(1);
    expect(decisions.filter((d) => d.kind === 'concurrency').map((d) => d.allowed)).toEqual([true, true, false]);
  });

  it('gives the slot back when the buckets refuse the request, and takes no tokens when no slot is free', async () => {
    const { slots, admission, who } = concurrent({ requests: { capacity: 1, refillPerSecond: 0.001 } }, 1);
    const first = await admission.admit(who, model, reserve);
    expect((await rejection(admission.admit(who, model, reserve))).code).toBe('concurrency_limit_exceeded');
    first.settle(undefined, undefined);
    expect((await rejection(admission.admit(who, model, reserve))).code).toBe('rate_limit_exceeded');
    expect(slots.inFlight('acme')).toBe(0);
  });
});

describe('Admission: waiting for a concurrency slot (queue on)', () => {
  function queued(maxInFlight: number, maxWaitMs: number) {
    const clock = new ManualClock();
    const slots = new MemoryConcurrencyLimiter();
    const decisions: Decision[] = [];
    const events = recordingEvents(decisions);
    const waiters = new SlotQueue(slots, { maxPerTenant: 10, maxTotal: 10, pollMs: 50, observer: events, clock });
    const admission = new Admission(new MemoryRateLimiter(clock), events, { concurrency: slots, clock, queue: { slots: waiters, maxWaitMs } });
    const who: Principal = { ...principal(undefined), concurrency: { maxInFlight } };
    return { slots, decisions, admission, who, clock, waiters };
  }
  const reserve = { promptTokens: 10, outputTokens: 10 };
  const waitFor = (signal: AbortSignal, deadlineMs = 60_000, priority: Priority = 'normal') => ({ priority, weight: 1, signal, deadlineMs });

  it('admits a request that finds no slot as soon as one is settled, instead of a 429', async () => {
    const { slots, admission, who, decisions } = queued(1, 10_000);
    const first = await admission.admit(who, model, reserve, undefined, waitFor(new AbortController().signal));
    const second = admission.admit(who, model, reserve, undefined, waitFor(new AbortController().signal));
    await flush();
    expect(slots.inFlight('acme')).toBe(1);
    first.settle(undefined, undefined);
    const t = await second;
    expect(slots.inFlight('acme')).toBe(1);
    t.settle(undefined, undefined);
    expect(slots.inFlight('acme')).toBe(0);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true]);
  });

  it('refuses with 429 and a Retry-After from the hold times once the wait limit passes; without a wait it refuses at once as before', async () => {
    vi.useFakeTimers();
    try {
      const { admission, who, clock } = queued(1, 2_000);
      const first = await admission.admit(who, model, reserve, undefined, waitFor(new AbortController().signal));
      const refusedAtOnce = await rejection(admission.admit(who, model, reserve));
      expect(refusedAtOnce).toMatchObject({ code: 'concurrency_limit_exceeded', retryAfterMs: 1000 });
      first.settle(undefined, undefined);
      const held = await admission.admit(who, model, reserve, undefined, waitFor(new AbortController().signal));
      clock.advance(3_000);
      held.settle(undefined, undefined);
      const again = await admission.admit(who, model, reserve, undefined, waitFor(new AbortController().signal));
      const waiting = rejection(admission.admit(who, model, reserve, undefined, waitFor(new AbortController().signal)));
      await vi.advanceTimersByTimeAsync(2_000);
      const err = await waiting;
      expect(err).toMatchObject({ code: 'concurrency_limit_exceeded', status: 429 });
      // Holds of 0 s and 3 s (weighted), one slot: come back in at least 1 s, not a made-up number.
      expect(err.retryAfterMs).toBeGreaterThanOrEqual(1_000);
      expect(err.retryAfterMs).toBe(Math.max(1_000, Math.ceil(0 * 0.8 + 3_000 * 0.2)));
      again.settle(undefined, undefined);
    } finally {
      vi.useRealTimers();
    }
  });

  it('never waits past the deadline: a wait that reaches it ends at once and frees nothing it did not hold', async () => {
    const { slots, admission, who, waiters } = queued(1, 60_000);
    const first = await admission.admit(who, model, reserve, undefined, waitFor(new AbortController().signal));
    const controller = new AbortController();
    const waiting = rejection(admission.admit(who, model, reserve, undefined, waitFor(controller.signal)));
    await flush();
    controller.abort(new DeadlineExceededError(100));
    expect((await waiting).code).toBe('upstream_timeout');
    expect(waiters.size).toBe(0);
    first.settle(undefined, undefined);
    await flush();
    expect(slots.inFlight('acme')).toBe(0);
  });
});

describe('Admission: shared slots unavailable while a request waits (fail-closed)', () => {
  it('ends the wait with 503 rate_limit_unavailable (what a new request gets), not a 429 claiming too many requests are in flight', async () => {
    vi.useFakeTimers();
    try {
      const clock = new ManualClock();
      const inner = new MemoryConcurrencyLimiter();
      let down = false;
      const shared: ConcurrencyLimiter = {
        async acquire(key, max) {
          if (down) throw new LimitUnavailableError('concurrency', 5_000);
          return { lease: inner.tryAcquire(key, max), degraded: false };
        },
      };
      const events = recordingEvents([]);
      const waiters = new SlotQueue(shared, { maxPerTenant: 10, maxTotal: 10, pollMs: 50, observer: events, clock });
      const admission = new Admission(new MemoryRateLimiter(clock), events, { concurrency: shared, clock, failureMode: 'closed', queue: { slots: waiters, maxWaitMs: 2_000 } });
      const who: Principal = { ...principal(undefined), concurrency: { maxInFlight: 1 } };
      const wait = { priority: 'normal' as const, weight: 1, signal: new AbortController().signal, deadlineMs: 60_000 };
      const first = await admission.admit(who, model, { promptTokens: 1, outputTokens: 1 }, undefined, wait);
      const waiting = rejection(admission.admit(who, model, { promptTokens: 1, outputTokens: 1 }, undefined, wait));
      await vi.advanceTimersByTimeAsync(100);
      down = true;
      await vi.advanceTimersByTimeAsync(2_000);
      const err = await waiting;
      expect(err).toMatchObject({ code: 'rate_limit_unavailable', status: 503 });
      expect(err.retryAfterMs).toBeGreaterThanOrEqual(5_000);
      first.settle(undefined, undefined);
      expect(waiters.size).toBe(0);
    } finally {
      vi.useRealTimers();
    }
  });
});

describe('Admission: giving a slot back to take one again (the over-budget swap, queue on)', () => {
  it('a request that refunds its slot and is admitted again at once keeps a slot, ahead of its tenant\'s waiters', async () => {
    const clock = new ManualClock();
    const slots = new MemoryConcurrencyLimiter();
    const events = recordingEvents([]);
    const waiters = new SlotQueue(slots, { maxPerTenant: 10, maxTotal: 10, pollMs: 50, observer: events, clock });
    const admission = new Admission(new MemoryRateLimiter(clock), events, { concurrency: slots, clock, queue: { slots: waiters, maxWaitMs: 60_000 } });
    const who: Principal = { ...principal(undefined), concurrency: { maxInFlight: 1 } };
    const wait = { priority: 'normal' as const, weight: 1, signal: new AbortController().signal, deadlineMs: 60_000 };
    const first = await admission.admit(who, model, { promptTokens: 1, outputTokens: 1 }, undefined, wait);
    let queuedAdmitted = false;
    const queued = admission.admit(who, model, { promptTokens: 1, outputTokens: 1 }, undefined, wait).then((t) => {
      queuedAdmitted = true;
      return t;
    });
    await flush();
    first.refund();
    const again = await admission.admit(who, model, { promptTokens: 1, outputTokens: 1 }, undefined, { ...wait, resume: true });
    await flush();
    expect(queuedAdmitted).toBe(false);
    expect(slots.inFlight('acme')).toBe(1);
    again.settle(undefined, undefined);
    (await queued).settle(undefined, undefined);
    expect(slots.inFlight('acme')).toBe(0);
  });
});

describe('Admission: admitRequestOnly (token counting)', () => {
  it('takes one request from the request bucket, never touches the token bucket, and holds a slot until settle', async () => {
    const clock = new ManualClock();
    const slots = new MemoryConcurrencyLimiter();
    const decisions: Decision[] = [];
    const admission = new Admission(new MemoryRateLimiter(clock), recordingEvents(decisions), { concurrency: slots });
    // A token bucket with 5 tokens: a chat request reserving more is refused; counts are not.
    const limits: LimitsConfig = { requests: { capacity: 3, refillPerSecond: slow }, tokens: { capacity: 5, refillPerSecond: slow } };
    const who: Principal = { ...principal(limits), concurrency: { maxInFlight: 1 } };
    const first = await admission.admitRequestOnly(who, model);
    expect(first.headers).toEqual({ 'x-ratelimit-limit-requests': '3', 'x-ratelimit-remaining-requests': '2', 'x-ratelimit-reset-requests': expect.any(String) });
    expect(slots.inFlight('acme')).toBe(1);
    expect((await rejection(admission.admitRequestOnly(who, model))).code).toBe('concurrency_limit_exceeded');
    first.settle(undefined, undefined);
    expect(slots.inFlight('acme')).toBe(0);
    (await admission.admitRequestOnly(who, model)).settle(usage(50, 0), undefined);
    await flush();
    expect(decisions.filter((d) => d.kind === 'tokens')).toEqual([]);
    // The token bucket is still full: a request that fits it is admitted.
    (await admission.admit(who, model, { promptTokens: 2, outputTokens: 3 })).settle(usage(2, 3), undefined);
    // The request bucket is spent: three requests in all.
    expect((await rejection(admission.admitRequestOnly(who, model))).code).toBe('rate_limit_exceeded');
  });

  it('no request limit and no concurrency limit: nothing to hold', async () => {
    const { admission, decisions } = setup({ tokens: { capacity: 1, refillPerSecond: slow } });
    const who: Principal = { ...principal({ tokens: { capacity: 1, refillPerSecond: slow } }), budgets: [] };
    for (let i = 0; i < 5; i++) expect((await admission.admitRequestOnly(who, model)).headers).toEqual({});
    expect(decisions).toEqual([]);
  });
});
