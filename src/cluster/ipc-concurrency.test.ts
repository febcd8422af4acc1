import { describe, expect, it } from 'vitest';
import { channelPair, type ChannelDelays } from '../testing/ipc-channel-pair.js';
import { ConcurrencySlots, IpcConcurrencyLimiter, concurrencyHandlers } from './ipc-concurrency.js';
import { StateUnavailableError } from '../state/state-errors.js';
import { RpcClient, serveRpc, type RpcHandlers } from './rpc.js';

/** A primary with one set of slots and a worker connected to it as `owner`. */
function setup(options: { owner?: string; timeoutMs?: number; delays?: ChannelDelays; slots?: ConcurrencySlots; wrap?: (h: RpcHandlers) => RpcHandlers } = {}): { slots: ConcurrencySlots; limiter: IpcConcurrencyLimiter } {
  const slots = options.slots ?? new ConcurrencySlots();
  const [worker, primary] = channelPair(options.delays);
  const handlers = concurrencyHandlers(slots, options.owner ?? '1');
  serveRpc(primary, options.wrap ? options.wrap(handlers) : handlers);
  return { slots, limiter: new IpcConcurrencyLimiter(new RpcClient(worker, options.timeoutMs ?? 2_000)) };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Waits until `check` holds (the release travels asynchronously), at most ~1 s. */
async function eventually(check: () => boolean): Promise<void> {
  for (let i = 0; i < 100 && !check(); i++) await sleep(10);
  expect(check()).toBe(true);
}

describe('IpcConcurrencyLimiter (worker) over ConcurrencySlots (primary)', () => {
  it('acquires up to max, refuses beyond, and a release frees a slot for another worker', async () => {
    const slots = new ConcurrencySlots();
    const a = setup({ slots, owner: '1' }).limiter;
    const b = setup({ slots, owner: '2' }).limiter;
    const first = await a.acquire('t', 2);
    const second = await b.acquire('t', 2);
    expect(first.lease).toBeDefined();
    expect(second.lease).toBeDefined();
    expect(first.degraded).toBe(false);
    expect((await a.acquire('t', 2)).lease).toBeUndefined();
    expect((await b.acquire('t', 2)).lease).toBeUndefined();
    expect((await a.acquire('other', 2)).lease).toBeDefined();
    expect(slots.inFlight('t')).toBe(2);

    first.lease?.release();
    first.lease?.release(); // a second release is a no-op
    await eventually(() => slots.inFlight('t') === 1);
    expect((await b.acquire('t', 2)).lease).toBeDefined();
    expect(slots.inFlight('t')).toBe(2);
  });

  it('when a worker exits, every slot it held comes back, and only its own', async () => {
    const slots = new ConcurrencySlots();
    const a = setup({ slots, owner: '1' }).limiter;
    const b = setup({ slots, owner: '2' }).limiter;
    await a.acquire('t', 3);
    await a.acquire('t', 3);
    await a.acquire('u', 3);
    const kept = await b.acquire('t', 3);
    expect(kept.lease).toBeDefined();
    expect(slots.inFlight('t')).toBe(3);

    expect(slots.releaseAll('1')).toBe(3);
    expect(slots.inFlight('t')).toBe(1);
    expect(slots.inFlight('u')).toBe(0);
    expect(slots.releaseAll('1')).toBe(0);
    expect((await b.acquire('t', 3)).lease).toBeDefined();
    expect(slots.inFlight('t')).toBe(2);
  });

  it('a grant that arrives after the worker gave up (timeout) is released, not leaked', async () => {
    // The primary grants at once, but its answers take longer than the worker waits.
    const { slots, limiter } = setup({ timeoutMs: 20, delays: { fromSecondMs: 60 } });
    await expect(limiter.acquire('t', 1)).rejects.toBeInstanceOf(StateUnavailableError);
    expect(slots.inFlight('t')).toBe(1);
    await eventually(() => slots.inFlight('t') === 0);
  });

  it('an acquire the primary handles only after the worker released it is refused, not granted to nobody', async () => {
    // The primary handles acquires late (after the worker's release has already arrived).
    const { slots, limiter } = setup({
      timeoutMs: 20,
      wrap: (h) => ({
        ...h,
        'concurrency.acquire': async (params) => {
          await sleep(60);
          return h['concurrency.acquire']?.(params);
        },
      }),
    });
    await expect(limiter.acquire('t', 1)).rejects.toBeInstanceOf(StateUnavailableError);
    await sleep(100);
    expect(slots.inFlight('t')).toBe(0);
  });

  it('rejects with StateUnavailableError (as an unavailable Redis) when nobody answers in time', async () => {
    const [worker] = channelPair();
    const limiter = new IpcConcurrencyLimiter(new RpcClient(worker, 30));
    await expect(limiter.acquire('t', 1)).rejects.toBeInstanceOf(StateUnavailableError);
  });
});
