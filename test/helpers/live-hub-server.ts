/**
 * A LiveHub on a plain loopback HTTP server (every request a stream, every key allowed), for tests
 * of the hub itself over real sockets with bounds smaller than the gateway's.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { LiveHub } from '../../src/admin/live-hub.js';

export interface LiveHubServer {
  readonly url: string;
  /** Ends the hub's streams, then the server (its open connections too). */
  close(): Promise<void>;
}

/** `stillAllowed`: the credential re-check every stream gets (by default, always allowed). */
export async function serveLiveHub(hub: LiveHub, stillAllowed: () => Promise<boolean> = async () => true): Promise<LiveHubServer> {
  const server = createServer((_req, res) => hub.open(res, stillAllowed));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    async close() {
      hub.closeAll();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
