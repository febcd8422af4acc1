import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../ratelimit/memory-limiter.js';
import { describeRateLimiterContract } from '../ratelimit/limiter-contract.js';
import { channelPair } from '../testing/ipc-channel-pair.js';
import { LimitUnavailableError } from '../ratelimit/fallback-limiter.js';
import { IpcRateLimiter, limiterHandlers } from './ipc-limiter.js';
import { workerLimiters } from './worker.js';
import { StateUnavailableError } from '../state/state-errors.js';
import { RpcClient, serveRpc } from './rpc.js';

describeRateLimiterContract('IpcRateLimiter (worker) over a MemoryRateLimiter (primary)', (clock) => {
  const [worker, primary] = channelPair();
  serveRpc(primary, limiterHandlers(new MemoryRateLimiter(clock)));
  return new IpcRateLimiter(new RpcClient(worker, 2_000));
});

describe('RpcClient', () => {
  it('rejects with StateUnavailableError (as an unavailable Redis) when nobody answers in time', async () => {
    const [worker] = channelPair();
    const limiter = new IpcRateLimiter(new RpcClient(worker, 30));
    await expect(limiter.consume([{ key: 'k', kind: 'requests', bucket: { capacity: 1, refillPerSecond: 1 }, cost: 1 }])).rejects.toBeInstanceOf(StateUnavailableError);
  });

  it('sends the calls of one event-loop turn as one message and gets their answers back in one, in order', async () => {
    const [worker, primary] = channelPair();
    const sent: unknown[] = [];
    const counting = { send: (m: unknown) => (sent.push(m), worker.send(m)), onMessage: worker.onMessage };
    const answered: unknown[] = [];
    const counted = { send: (m: unknown) => (answered.push(m), primary.send(m)), onMessage: primary.onMessage };
    serveRpc(counted, limiterHandlers(new MemoryRateLimiter()));
    const limiter = new IpcRateLimiter(new RpcClient(counting, 2_000));
    const bucket = { capacity: 3, refillPerSecond: 0.001 };
    const check = { key: 'k', kind: 'requests' as const, bucket, cost: 1 };
    const decisions = await Promise.all(Array.from({ length: 5 }, () => limiter.consume([check])));
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, true, false, false]);
    expect([sent.length, answered.length]).toEqual([1, 1]);
    // A settlement is one-way and stays in order with the calls after it: here both travel in
    // the same message, the refund applied before the consume.
    await limiter.adjust('k', bucket, -1);
    expect((await limiter.consume([check])).allowed).toBe(true);
    expect([sent.length, answered.length]).toEqual([2, 2]);
  });

  it('answers an unknown method with an error, and ignores messages that are not its own', async () => {
    const [worker, primary] = channelPair();
    serveRpc(primary, {});
    primary.send({ type: 'prom-client:getMetricsReq', requestId: 1 });
    await expect(new RpcClient(worker, 1_000).call('nope', null)).rejects.toThrow('unknown method nope');
  });
});

describe('workerLimiters: a primary that does not answer is an unavailable state backend, never a 500', () => {
  const bucket = { capacity: 4, refillPerSecond: 0.001 };
  const check = (failureMode: 'open' | 'closed') => ({ key: 't|m|requests', kind: 'requests' as const, bucket, cost: 1, failureMode });

  it('fail-open admits against this worker’s share (limit ÷ workers), marked degraded', async () => {
    const [worker] = channelPair();
    const { rateLimiter, concurrency } = workerLimiters(new RpcClient(worker, 30), 2);
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(await rateLimiter.consume([check('open')]));
    expect(decisions.map((d) => [d.allowed, d.degraded])).toEqual([
      [true, true],
      [true, true],
      [false, true],
    ]);
    const slot = await concurrency.acquire('t', 4, 'open');
    expect(slot).toMatchObject({ degraded: true });
    expect(slot.lease).toBeDefined();
  });

  it('fail-closed refuses with LimitUnavailableError (503 rate_limit_unavailable)', async () => {
    const [worker] = channelPair();
    const { rateLimiter, concurrency } = workerLimiters(new RpcClient(worker, 30), 2);
    await expect(rateLimiter.consume([check('closed')])).rejects.toBeInstanceOf(LimitUnavailableError);
    await expect(concurrency.acquire('t', 4, 'closed')).rejects.toBeInstanceOf(LimitUnavailableError);
  });
});

describe('two RpcClients on one channel (a worker’s limiter and /metrics clients)', () => {
  it('each gets its own answers, though both number their calls from 1', async () => {
    const [worker, primary] = channelPair();
    serveRpc(primary, {
      echo: async (p) => ({ echoed: p }),
      metrics: async () => 'metrics text',
    });
    const a = new RpcClient(worker, 2_000);
    const b = new RpcClient(worker, 2_000);
    for (let round = 0; round < 3; round++) {
      const [fromA, fromB] = await Promise.all([a.call('echo', round), b.call('metrics', null)]);
      expect(fromA).toEqual({ echoed: round });
      expect(fromB).toBe('metrics text');
    }
  });
});
