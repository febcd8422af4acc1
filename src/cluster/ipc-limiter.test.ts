import { describe, expect, it } from 'vitest';
import { MemoryRateLimiter } from '../ratelimit/memory-limiter.js';
import { describeRateLimiterContract } from '../ratelimit/limiter-contract.js';
import { channelPair } from '../testing/ipc-channel-pair.js';
import { IpcRateLimiter, limiterHandlers } from './ipc-limiter.js';
import { RpcClient, RpcUnavailableError, serveRpc } from './rpc.js';

describeRateLimiterContract('IpcRateLimiter (worker) over a MemoryRateLimiter (primary)', (clock) => {
  const [worker, primary] = channelPair();
  serveRpc(primary, limiterHandlers(new MemoryRateLimiter(clock)));
  return new IpcRateLimiter(new RpcClient(worker, 2_000));
});

describe('RpcClient', () => {
  it('rejects with RpcUnavailableError when nobody answers in time', async () => {
    const [worker] = channelPair();
    const limiter = new IpcRateLimiter(new RpcClient(worker, 30));
    await expect(limiter.consume([{ key: 'k', kind: 'requests', bucket: { capacity: 1, refillPerSecond: 1 }, cost: 1 }])).rejects.toBeInstanceOf(RpcUnavailableError);
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
