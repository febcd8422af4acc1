/**
 * `serve` with the Redis backend on a port already in use (issue 10 §4d): it used to print
 * EADDRINUSE and never exit (the Redis connection kept the process alive). It must exit
 * non-zero promptly.
 */
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { startChildGateway } from './helpers/child-gateway.js';
import { SHARED_REDIS_URL, sharedRedisAvailable, uniquePrefix } from './helpers/redis.js';

const available = await sharedRedisAvailable();

describe.skipIf(!available)('serve on a port in use, Redis backend', () => {
  it('prints EADDRINUSE and exits non-zero (generous 20 s deadline on a busy machine)', async () => {
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as { port: number }).port;
    const child = startChildGateway({
      args: ['--host', '127.0.0.1', '--port', String(port)],
      env: { REDIS_URL: SHARED_REDIS_URL },
      config: {
        state: { backend: 'redis', redis: { url: '${env:REDIS_URL}', keyPrefix: uniquePrefix('eaddrinuse') } },
        deployments: { d: { provider: 'openai', baseUrl: 'http://127.0.0.1:9' } },
        models: { m: { targets: [{ deployment: 'd', model: 'x' }] } },
      },
    });
    try {
      const exit = await Promise.race([child.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), 20_000))]);
      expect(exit).not.toBe('still running');
      expect((exit as { code: number | null }).code).not.toBe(0);
      expect([...child.otherOutput, ...child.logs.map((l) => JSON.stringify(l))].join('\n')).toContain('EADDRINUSE');
    } finally {
      await child.cleanup();
      await new Promise((r) => squatter.close(r));
    }
  }, 40_000);
});
