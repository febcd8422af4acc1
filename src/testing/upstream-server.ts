import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Pool } from 'undici';
import { PoolGate } from '../upstream/pool-gate.js';
import type { CallContext, UpstreamEndpoint } from '../upstream/send.js';

/** A node:http upstream on a free loopback port and the deployment endpoint that calls it (5 s bounds, 8 slots). */
export interface UpstreamServer {
  readonly server: Server;
  readonly endpoint: UpstreamEndpoint;
  close(): Promise<void>;
}

/** Starts `handler` as an upstream for the send/stream unit tests. */
export async function startUpstreamServer(handler: RequestListener): Promise<UpstreamServer> {
  const server = createServer(handler);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const pool = new Pool(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
  const endpoint: UpstreamEndpoint = { pool, gate: new PoolGate({ capacity: 8, maxPerTenant: 8, maxWaiting: 8 }), credentials: { kind: 'none' }, secrets: [], firstByteTimeoutMs: 5_000, idleTimeoutMs: 5_000, firstContentTimeoutMs: 5_000, poolQueueMs: 5_000 };
  return {
    server,
    endpoint,
    close: async () => {
      await pool.destroy();
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

/** A call context for tenant `t` with a 5 s slot wait. */
export const callContext = (signal: AbortSignal): CallContext => ({ signal, tenant: 't', maxWaitMs: 5_000, priority: 'normal', weight: 1 });

/** A JSON POST to `path`. */
export const postCall = (path: string) => ({ method: 'POST' as const, path, headers: { 'content-type': 'application/json' }, body: '{}' });
