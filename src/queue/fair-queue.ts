/**
 * The fair waiting structure behind every queue of the gateway (tenant concurrency slots, a
 * deployment's connections): strict priority between classes (`high`, then `normal`, then
 * `low`), deficit round robin between tenants within a class (a tenant with weight w is served
 * w times per round), FIFO within a tenant. Bounded per tenant and in total. Push, shift and
 * remove are O(1): entries sit in doubly linked lists, and each class keeps a ring of only the
 * tenants that have entries in it and may be served now.
 *
 * Full, it still makes room for a higher class: a push evicts the newest entry of the lowest class
 * below its own (within the tenant for the tenant's bound, of any tenant for the total), so a
 * queue filled by `low` (batch) waiters never refuses a live request that would be served first.
 *
 * It holds no timers and knows no clock: the waits themselves (queue/wait.ts) remove their entry
 * the moment they end, so nothing stays behind a waiter that left.
 */
import type { Priority } from './priority.js';

export interface FairQueueLimits {
  /** Entries one tenant may have waiting, all classes together. */
  readonly maxPerTenant: number;
  /** Entries waiting in all. */
  readonly maxTotal: number;
}

/** A waiting entry's handle: `remove` takes it out of the queue (no-op once it left). */
export interface QueuedEntry {
  remove(): void;
}

/** Why `push` refused: the tenant's own bound, or the queue's. */
export type QueueFull = 'tenant' | 'total';

/** Weights are whole numbers in this range: a weight of 1 is one turn per round. */
export const maxWeight = 100;

const classIndex: Readonly<Record<Priority, number>> = { high: 0, normal: 1, low: 2 };

class Entry<T> implements QueuedEntry {
  prev: Entry<T> | undefined;
  next: Entry<T> | undefined;
  lane: Lane<T> | undefined;

  constructor(
    readonly value: T,
    private readonly queue: FairQueue<T>,
  ) {}

  remove(): void {
    if (this.lane) this.queue.unlink(this);
  }
}

/** One tenant's FIFO in one class, and its place in that class's ring. */
class Lane<T> {
  head: Entry<T> | undefined;
  tail: Entry<T> | undefined;
  size = 0;
  /** Turns left in this round (DRR deficit, whole turns). */
  deficit = 0;
  ringPrev: Lane<T> | undefined;
  ringNext: Lane<T> | undefined;

  constructor(
    readonly tenant: TenantState<T>,
    readonly cls: number,
  ) {}
}

class TenantState<T> {
  readonly lanes: Array<Lane<T> | undefined> = [undefined, undefined, undefined];
  queued = 0;

  constructor(
    readonly name: string,
    public weight: number,
  ) {}
}

/** The ring of one class: lanes that have entries and whose tenant is not blocked. */
interface Ring<T> {
  current: Lane<T> | undefined;
}

export class FairQueue<T> {
  #limits: FairQueueLimits;
  readonly #tenants = new Map<string, TenantState<T>>();
  readonly #rings: Array<Ring<T>> = [{ current: undefined }, { current: undefined }, { current: undefined }];
  /** Every lane with entries, per class (blocked ones too): where an eviction finds a victim. */
  readonly #lanes: Array<Set<Lane<T>>> = [new Set(), new Set(), new Set()];
  /** Told of each value evicted to make room for a higher class (it left the queue already). */
  readonly #onEvict: ((value: T, full: QueueFull) => void) | undefined;
  /** Tenants that may not be served now (they hold their share): their lanes stay out of the rings. */
  readonly #blocked = new Set<string>();
  #size = 0;

  constructor(limits: FairQueueLimits, onEvict?: (value: T, full: QueueFull) => void) {
    this.#limits = limits;
    this.#onEvict = onEvict;
  }

  /** New bounds (a config reload): entries already waiting stay; only new pushes see them. */
  setLimits(limits: FairQueueLimits): void {
    this.#limits = limits;
  }

  /** Entries waiting, in all. */
  get size(): number {
    return this.#size;
  }

  /** Entries `tenant` has waiting. */
  sizeOf(tenant: string): number {
    return this.#tenants.get(tenant)?.queued ?? 0;
  }

  /**
   * Adds `value` at the back of `tenant`'s FIFO in `priority`'s class, with `weight` (1 to
   * maxWeight, whole; the tenant's latest push sets it). Returns its handle, or why it is full.
   */
  push(tenant: string, priority: Priority, weight: number, value: T): QueuedEntry | QueueFull {
    const cls = classIndex[priority];
    const own = this.#tenants.get(tenant);
    if (own && own.queued >= this.#limits.maxPerTenant && !this.#evictBelow(cls, own)) return 'tenant';
    if (this.#size >= this.#limits.maxTotal && !this.#evictBelow(cls, undefined)) return 'total';
    // An eviction may have emptied (and forgotten) the tenant: look it up again.
    let state = this.#tenants.get(tenant);
    const w = Math.min(maxWeight, Math.max(1, Math.floor(weight)));
    if (!state) {
      state = new TenantState(tenant, w);
      this.#tenants.set(tenant, state);
    } else state.weight = w;
    let lane = state.lanes[cls];
    if (!lane) {
      lane = new Lane(state, cls);
      state.lanes[cls] = lane;
      this.#lanes[cls]!.add(lane);
    }
    const entry = new Entry(value, this);
    entry.lane = lane;
    entry.prev = lane.tail;
    if (lane.tail) lane.tail.next = entry;
    else lane.head = entry;
    lane.tail = entry;
    lane.size++;
    state.queued++;
    this.#size++;
    if (lane.size === 1 && !this.#blocked.has(tenant)) this.#join(lane);
    return entry;
  }

  /** The next value to serve: the highest class with a servable tenant, that class's DRR turn; undefined if none. */
  shift(): T | undefined {
    for (const ring of this.#rings) {
      const lane = ring.current;
      if (!lane) continue;
      // A lane whose turn starts gets its quantum; weights are whole numbers ≥ 1, so it is served now.
      if (lane.deficit < 1) lane.deficit += lane.tenant.weight;
      lane.deficit--;
      const entry = lane.head!;
      const empties = lane.size === 1;
      if (!empties && lane.deficit < 1) ring.current = lane.ringNext;
      this.unlink(entry);
      return entry.value;
    }
    return undefined;
  }

  /** `tenant`'s own next value (its highest class, oldest first), whoever else waits; undefined if none. */
  shiftTenant(tenant: string): T | undefined {
    const state = this.#tenants.get(tenant);
    if (!state) return undefined;
    for (const lane of state.lanes) {
      if (!lane?.head) continue;
      const entry = lane.head;
      this.unlink(entry);
      return entry.value;
    }
    return undefined;
  }

  /** Keeps `tenant`'s entries waiting but out of `shift` until `unblock` (it holds its share). */
  block(tenant: string): void {
    if (this.#blocked.has(tenant)) return;
    this.#blocked.add(tenant);
    const state = this.#tenants.get(tenant);
    if (state) for (const lane of state.lanes) if (lane && lane.size > 0) this.#leave(lane);
  }

  /** Lets `tenant` be served again; its lanes join their rings at the back of the round. */
  unblock(tenant: string): void {
    if (!this.#blocked.delete(tenant)) return;
    const state = this.#tenants.get(tenant);
    if (state) for (const lane of state.lanes) if (lane && lane.size > 0) this.#join(lane);
  }

  /** Takes `entry` out of its lane; a lane left empty leaves its ring, a tenant left empty is forgotten. */
  unlink(entry: Entry<T>): void {
    const lane = entry.lane;
    if (!lane) return;
    entry.lane = undefined;
    if (entry.prev) entry.prev.next = entry.next;
    else lane.head = entry.next;
    if (entry.next) entry.next.prev = entry.prev;
    else lane.tail = entry.prev;
    entry.prev = entry.next = undefined;
    lane.size--;
    const state = lane.tenant;
    state.queued--;
    this.#size--;
    if (lane.size > 0) return;
    if (lane.ringNext) this.#leave(lane);
    state.lanes[lane.cls] = undefined;
    this.#lanes[lane.cls]!.delete(lane);
    if (state.queued === 0) this.#tenants.delete(state.name);
  }

  /**
   * Evicts the newest entry of the lowest class below `cls` (of `tenant` only, when given);
   * false when there is none. O(1).
   */
  #evictBelow(cls: number, tenant: TenantState<T> | undefined): boolean {
    for (let c = this.#lanes.length - 1; c > cls; c--) {
      const lane = tenant ? tenant.lanes[c] : this.#lanes[c]!.values().next().value;
      const victim = lane?.tail;
      if (!victim) continue;
      this.unlink(victim);
      this.#onEvict?.(victim.value, tenant ? 'tenant' : 'total');
      return true;
    }
    return false;
  }

  /** Inserts `lane` at the back of its class's round (just before the lane whose turn it is). */
  #join(lane: Lane<T>): void {
    const ring = this.#rings[lane.cls]!;
    const at = ring.current;
    lane.deficit = 0;
    if (!at) {
      lane.ringPrev = lane.ringNext = lane;
      ring.current = lane;
      return;
    }
    const before = at.ringPrev!;
    lane.ringPrev = before;
    lane.ringNext = at;
    before.ringNext = lane;
    at.ringPrev = lane;
  }

  #leave(lane: Lane<T>): void {
    const ring = this.#rings[lane.cls]!;
    const next = lane.ringNext;
    if (next === undefined) return;
    if (next === lane) ring.current = undefined;
    else {
      lane.ringPrev!.ringNext = next;
      next.ringPrev = lane.ringPrev;
      if (ring.current === lane) ring.current = next;
    }
    lane.ringPrev = lane.ringNext = undefined;
    lane.deficit = 0;
  }
}

/** The higher of two priorities. */
export function higher(a: Priority, b: Priority): Priority {
  return classIndex[a] <= classIndex[b] ? a : b;
}

/** `wanted`, lowered to `max` when above it. */
export function clampPriority(wanted: Priority, max: Priority): Priority {
  return classIndex[wanted] < classIndex[max] ? max : wanted;
}
