import type { Clock } from '../../clock.js';
import type { AttemptEvent, ConfigReloadEvent, GatewayEvents, RequestFinishedEvent, RequestOutcome } from '../events.js';
import type { BreakerState } from '../../resilience/breaker.js';
import { LatencyHistogram, type Percentiles } from './histogram.js';

/**
 * The live console's numbers (issue 13): one more event sink, keeping this process's traffic per
 * second and the last 300 seconds of it, and per deployment the breaker's recent transitions, the
 * recent failed attempts and five minutes of attempt latency. It runs whether or not a console is
 * open (the history must be there when one opens), so every event costs a few counter increments
 * and one histogram bucket; the tick itself (once a second) builds one small object. Every name
 * is from configuration: the alias asked for (or "unknown"), deployment names.
 */

/** Seconds of history kept (and sent to a console when it opens): five minutes. */
export const HISTORY_TICKS = 300;
/** Models and deployments named per tick; the rest are summed under "other". */
export const MAX_NAMED_PER_TICK = 50;
/** Breaker transitions and failed attempts kept per deployment. */
export const MAX_RECENT = 20;
/** A model or deployment with no traffic for this long leaves the per-second maps (it comes back with its next request). */
const IDLE_TICKS = 60;
/** Slots of the per-deployment latency window: one per wall-clock minute. */
const LATENCY_MINUTES = 5;
const PICO_PER_NANO = 1_000;

export interface TokensTick {
  readonly input: number;
  readonly output: number;
}

export interface ModelTick {
  readonly requests: number;
  readonly errors: number;
  readonly latencyMs: Percentiles | null;
  readonly ttftMs: Percentiles | null;
  readonly tokens: TokensTick;
  readonly costUsd: number;
}

export interface DeploymentTick {
  readonly attempts: number;
  readonly errors: number;
  readonly latencyMs: Percentiles | null;
  readonly inFlight: number;
}

export interface Tick {
  /** Epoch ms of the end of the second this tick covers. */
  readonly t: number;
  readonly requests: number;
  readonly outcomes: Partial<Record<RequestOutcome, number>>;
  readonly latencyMs: Percentiles | null;
  readonly ttftMs: Percentiles | null;
  readonly tokens: TokensTick;
  readonly costUsd: number;
  readonly models: Record<string, ModelTick>;
  readonly deployments: Record<string, DeploymentTick>;
}

export interface BreakerTransitionEntry {
  readonly from: BreakerState;
  readonly to: BreakerState;
  /** ISO 8601. */
  readonly at: string;
  readonly reason: string;
}

export interface FailureEntry {
  readonly at: string;
  readonly outcome: string;
  readonly status: number | null;
  readonly requestId: string;
}

/** What the deployments view reads of one deployment's past. */
export interface DeploymentHistory {
  readonly transitions: readonly BreakerTransitionEntry[];
  readonly recentFailures: readonly FailureEntry[];
  /** Attempt latency over the last five minutes (one-minute resolution). */
  readonly latencyMs: Percentiles | null;
}

/** A request's numbers within one second (for the whole process, or one model). */
class RequestCounts {
  requests = 0;
  errors = 0;
  readonly latency = new LatencyHistogram();
  readonly ttft = new LatencyHistogram();
  input = 0;
  output = 0;
  costPico = 0;
  /** The last tick with traffic (for pruning). */
  lastTick = 0;

  add(e: RequestFinishedEvent): void {
    this.requests++;
    if (e.outcome !== 'success') this.errors++;
    this.latency.add(e.durationMs);
    if (e.timeToFirstTokenMs !== undefined) this.ttft.add(e.timeToFirstTokenMs);
    const u = e.usage;
    if (u) {
      this.input += u.promptTokens;
      this.output += u.completionTokens;
    }
    if (typeof e.costPico === 'number') this.costPico += e.costPico;
  }

  merge(o: RequestCounts): void {
    this.requests += o.requests;
    this.errors += o.errors;
    this.latency.merge(o.latency);
    this.ttft.merge(o.ttft);
    this.input += o.input;
    this.output += o.output;
    this.costPico += o.costPico;
  }

  toModelTick(): ModelTick {
    return { requests: this.requests, errors: this.errors, latencyMs: this.latency.percentiles(), ttftMs: this.ttft.percentiles(), tokens: { input: this.input, output: this.output }, costUsd: usd(this.costPico) };
  }

  reset(): void {
    this.requests = 0;
    this.errors = 0;
    this.latency.reset();
    this.ttft.reset();
    this.input = 0;
    this.output = 0;
    this.costPico = 0;
  }
}

class AttemptCounts {
  attempts = 0;
  errors = 0;
  readonly latency = new LatencyHistogram();
  lastTick = 0;

  merge(o: AttemptCounts): void {
    this.attempts += o.attempts;
    this.errors += o.errors;
    this.latency.merge(o.latency);
  }

  reset(): void {
    this.attempts = 0;
    this.errors = 0;
    this.latency.reset();
  }
}

/** One deployment's bounded past: transitions, failures, and a latency histogram per minute. */
class DeploymentPast {
  readonly transitions: BreakerTransitionEntry[] = [];
  readonly failures: FailureEntry[] = [];
  readonly minutes = Array.from({ length: LATENCY_MINUTES }, () => new LatencyHistogram());
  readonly minuteOf = new Array<number>(LATENCY_MINUTES).fill(-1);

  latency(ms: number, minute: number): void {
    const slot = minute % LATENCY_MINUTES;
    const h = this.minutes[slot]!;
    if (this.minuteOf[slot] !== minute) {
      h.reset();
      this.minuteOf[slot] = minute;
    }
    h.add(ms);
  }

  latencyWindow(minute: number): Percentiles | null {
    const sum = new LatencyHistogram();
    for (let i = 0; i < LATENCY_MINUTES; i++) {
      const age = minute - this.minuteOf[i]!;
      // A negative age: the minute is ahead of the clock, which stepped back since. Not "recent".
      if (age >= 0 && age < LATENCY_MINUTES) sum.merge(this.minutes[i]!);
    }
    return sum.percentiles();
  }
}

function push<T>(ring: T[], item: T): void {
  ring.push(item);
  if (ring.length > MAX_RECENT) ring.shift();
}

/**
 * Sorts a configured alias or deployment named "other" after every other name: once the names
 * overflow it is summed into the overflow's "other" (which would otherwise be written over it,
 * losing its numbers), so the tick's names still add up to its totals.
 */
function overflowLast(a: string, b: string): number {
  return (a === OTHER ? 1 : 0) - (b === OTHER ? 1 : 0);
}

const OTHER = 'other';

function usd(pico: number): number {
  return Math.round(pico / PICO_PER_NANO) / 1e9;
}

const outcomeNames: readonly RequestOutcome[] = ['success', 'client_error', 'auth_error', 'rate_limited', 'upstream_error', 'timeout', 'client_disconnect', 'no_available_target', 'internal_error'];

export interface LiveAggregatorDeps {
  readonly clock: Clock;
}

/** A tick and its JSON (serialized once, whatever the number of streams). */
export type TickListener = (tick: Tick, json: string) => void;

export class LiveAggregator implements Partial<GatewayEvents> {
  readonly #deps: LiveAggregatorDeps;
  /** Connections in use per deployment now (read once a tick); bound once the runtime exists. */
  inFlight: (() => Iterable<readonly [string, number]>) | undefined;
  readonly #total = new RequestCounts();
  readonly #outcomes = new Map<RequestOutcome, number>(outcomeNames.map((o) => [o, 0]));
  readonly #models = new Map<string, RequestCounts>();
  readonly #deployments = new Map<string, AttemptCounts>();
  readonly #past = new Map<string, DeploymentPast>();
  /**
   * The last HISTORY_TICKS ticks as JSON, oldest first: each is serialized once, when it closes.
   * With 50 models and 50 deployments a tick is ~13 KB and the history ~4 MB: kept as objects it
   * took twice that heap, and serializing it again for every console that opened blocked the
   * event loop ~30 ms each time.
   */
  readonly #history: string[] = [];
  /** The `t` of each tick in #history. */
  readonly #historyT: number[] = [];
  /** historyJson() until the next tick: consoles opening in the same second share one join. */
  #historyJson: string | undefined;
  readonly #listeners = new Set<TickListener>();
  #tickNumber = 0;
  #timer: NodeJS.Timeout | undefined;

  constructor(deps: LiveAggregatorDeps) {
    this.#deps = deps;
  }

  requestFinished(e: RequestFinishedEvent): void {
    // Probes, scrapes, admin calls (the live stream among them) and 404s are no API traffic.
    if (e.operation === undefined) return;
    this.#total.add(e);
    this.#outcomes.set(e.outcome, (this.#outcomes.get(e.outcome) ?? 0) + 1);
    let m = this.#models.get(e.model);
    if (!m) this.#models.set(e.model, (m = new RequestCounts()));
    m.add(e);
    m.lastTick = this.#tickNumber;
  }

  attemptFinished(e: AttemptEvent): void {
    let d = this.#deployments.get(e.deployment);
    if (!d) this.#deployments.set(e.deployment, (d = new AttemptCounts()));
    d.attempts++;
    d.latency.add(e.durationMs);
    d.lastTick = this.#tickNumber;
    const past = this.#pastOf(e.deployment);
    const wall = this.#deps.clock.wallMs();
    past.latency(e.durationMs, Math.floor(wall / 60_000));
    if (e.outcome !== 'success') {
      d.errors++;
      push(past.failures, { at: new Date(wall).toISOString(), outcome: e.outcome, status: e.status ?? null, requestId: e.requestId });
    }
  }

  breakerTransition(e: Parameters<GatewayEvents['breakerTransition']>[0]): void {
    push(this.#pastOf(e.deployment).transitions, { from: e.from, to: e.to, at: new Date(this.#deps.clock.wallMs()).toISOString(), reason: e.reason });
  }

  /** A deployment gone by a reload takes its past with it (a new one of the same name starts afresh). */
  configReloaded(e: ConfigReloadEvent): void {
    if (e.result !== 'success') return;
    for (const name of e.removed) {
      this.#past.delete(name);
      this.#deployments.delete(name);
    }
  }

  /** The bounded past of a deployment (empty for one that has had no attempts). */
  deployment(name: string): DeploymentHistory {
    const past = this.#past.get(name);
    if (!past) return { transitions: [], recentFailures: [], latencyMs: null };
    return { transitions: [...past.transitions], recentFailures: [...past.failures], latencyMs: past.latencyWindow(Math.floor(this.#deps.clock.wallMs() / 60_000)) };
  }

  /** The last ticks, oldest first (at most HISTORY_TICKS); parsed again: for tests and tools, not the hub. */
  history(): readonly Tick[] {
    return this.#history.map((json) => JSON.parse(json) as Tick);
  }

  /** The last ticks as a JSON array, oldest first (at most HISTORY_TICKS): a join, no serialization. */
  historyJson(): string {
    return (this.#historyJson ??= `[${this.#history.join(',')}]`);
  }

  /** Calls `listener` with every tick from now on; returns the unsubscribe. */
  onTick(listener: TickListener): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Ticks at every wall-clock second from now on (timer unref'd: never keeps the process up). */
  start(): void {
    if (this.#timer) return;
    const schedule = (): void => {
      const wall = this.#deps.clock.wallMs();
      const end = (Math.floor(wall / 1000) + 1) * 1000;
      this.#timer = setTimeout(() => {
        this.tick(end);
        schedule();
      }, end - wall);
      this.#timer.unref();
    };
    schedule();
  }

  stop(): void {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#listeners.clear();
  }

  /** Closes the second ending at `t` (epoch ms): its tick joins the history and goes to the listeners. */
  tick(t: number): Tick {
    const n = this.#tickNumber++;
    const total = this.#total;
    const outcomes: Partial<Record<RequestOutcome, number>> = {};
    for (const [o, count] of this.#outcomes) {
      if (count > 0) {
        outcomes[o] = count;
        this.#outcomes.set(o, 0);
      }
    }
    const tick: Tick = {
      t,
      requests: total.requests,
      outcomes,
      latencyMs: total.latency.percentiles(),
      ttftMs: total.ttft.percentiles(),
      tokens: { input: total.input, output: total.output },
      costUsd: usd(total.costPico),
      models: this.#modelTicks(n),
      deployments: this.#deploymentTicks(n),
    };
    total.reset();
    const json = JSON.stringify(tick);
    this.#historyJson = undefined;
    // The wall clock stepped back (NTP, a VM resumed): the seconds the history holds at or after
    // this one are, by the clock now, in the future. They go, so the history a console opens
    // with stays in strictly increasing `t`, never two ticks for one second.
    while (this.#historyT.length > 0 && this.#historyT.at(-1)! >= t) {
      this.#history.pop();
      this.#historyT.pop();
    }
    this.#history.push(json);
    this.#historyT.push(t);
    if (this.#history.length > HISTORY_TICKS) {
      this.#history.shift();
      this.#historyT.shift();
    }
    for (const listener of this.#listeners) listener(tick, json);
    return tick;
  }

  #modelTicks(n: number): Record<string, ModelTick> {
    const active: Array<[string, RequestCounts]> = [];
    for (const [name, m] of this.#models) {
      if (m.requests > 0) active.push([name, m]);
      else if (n - m.lastTick > IDLE_TICKS) this.#models.delete(name);
    }
    const out: Record<string, ModelTick> = {};
    if (active.length > MAX_NAMED_PER_TICK) active.sort((a, b) => overflowLast(a[0], b[0]) || b[1].requests - a[1].requests);
    let other: RequestCounts | undefined;
    for (const [i, [name, m]] of active.entries()) {
      if (i < MAX_NAMED_PER_TICK) out[name] = m.toModelTick();
      else (other ??= new RequestCounts()).merge(m);
      m.reset();
    }
    if (other) out.other = other.toModelTick();
    return out;
  }

  #deploymentTicks(n: number): Record<string, DeploymentTick> {
    const inFlight = new Map(this.inFlight?.() ?? []);
    const active: Array<[string, AttemptCounts | undefined, number]> = [];
    for (const [name, d] of this.#deployments) {
      const busy = inFlight.get(name) ?? 0;
      if (d.attempts > 0 || busy > 0) active.push([name, d, busy]);
      else if (n - d.lastTick > IDLE_TICKS) this.#deployments.delete(name);
      inFlight.delete(name);
    }
    for (const [name, busy] of inFlight) if (busy > 0) active.push([name, undefined, busy]);
    if (active.length > MAX_NAMED_PER_TICK) active.sort((a, b) => overflowLast(a[0], b[0]) || (b[1]?.attempts ?? 0) - (a[1]?.attempts ?? 0) || b[2] - a[2]);
    const out: Record<string, DeploymentTick> = {};
    let other: AttemptCounts | undefined;
    let otherInFlight = 0;
    for (const [i, [name, d, busy]] of active.entries()) {
      if (i < MAX_NAMED_PER_TICK) out[name] = { attempts: d?.attempts ?? 0, errors: d?.errors ?? 0, latencyMs: d?.latency.percentiles() ?? null, inFlight: busy };
      else {
        if (d) (other ??= new AttemptCounts()).merge(d);
        otherInFlight += busy;
      }
      d?.reset();
    }
    if (other || otherInFlight > 0) out.other = { attempts: other?.attempts ?? 0, errors: other?.errors ?? 0, latencyMs: other?.latency.percentiles() ?? null, inFlight: otherInFlight };
    return out;
  }

  #pastOf(deployment: string): DeploymentPast {
    let past = this.#past.get(deployment);
    if (!past) this.#past.set(deployment, (past = new DeploymentPast()));
    return past;
  }
}
