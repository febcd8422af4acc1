import { createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { UpstreamPools } from './pools.js';

const servers: Server[] = [];
const sockets: Socket[] = [];
afterEach(async () => {
  for (const s of sockets.splice(0)) s.destroy();
  await Promise.all(servers.splice(0).map((s) => new Promise((r) => s.close(r))));
});

/** An upstream that accepts connections and never answers. */
async function silentUpstream(): Promise<string> {
  const server = createServer((socket) => sockets.push(socket));
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return `http://127.0.0.1:${address.port}`;
}

describe('UpstreamPools', () => {
  it('closeUnused gives a pool whose call never ends at most closeMs, then destroys it (a reload cleanup never hangs)', async () => {
    const pools = new UpstreamPools();
    const origin = await silentUpstream();
    const { pool } = pools.get('d', origin, { connections: 1, connectTimeoutMs: 1_000, maxPerTenant: 1 });
    // A call the upstream never answers, with no deadline of its own: only destroy() ends it.
    const stuck = pool.request({ method: 'GET', path: '/', headersTimeout: 0, bodyTimeout: 0 }).then(
      () => 'answered',
      () => 'aborted',
    );
    await new Promise((r) => setTimeout(r, 100));
    const closing = pools.closeUnused(new Set(), 300).then(() => 'closed');
    const outcome = await Promise.race([closing, new Promise((r) => setTimeout(() => r('still open after 10 s'), 10_000))]);
    expect(outcome).toBe('closed');
    expect(pool.destroyed).toBe(true);
    expect(await stuck).toBe('aborted');
    expect(pools.size).toBe(0);
  });
});
