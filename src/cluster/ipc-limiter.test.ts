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

  it('answers an unknown method with an error, and ignores messages that are not its own', async () => {
    const [worker, primary] = channelPair();
    serveRpc(primary, {});
    primary.send({ type: 'prom-client:getMetricsReq', requestId: 1 });
    await expect(new RpcClient(worker, 1_000).call('nope', null)).rejects.toThrow('unknown method nope');
  });
});
