import { readFileSync } from 'node:fs';
import type { Server } from 'node:http';
import type { Socket } from 'node:net';

/** Share of the open-files limit the edge may spend on client connections; the rest is for upstream pools, logs, config. */
const clientShareOfFiles = 0.75;

/** How often Node checks headersTimeout/requestTimeout (its default, 30 s, let slow sockets live 30 s past them). */
export const connectionsCheckingIntervalMs = 1_000;

/**
 * The soft limit on open files (RLIMIT_NOFILE), read from /proc/self/limits; undefined where that
 * file does not exist (not Linux) or says "unlimited".
 */
export function openFilesSoftLimit(): number | undefined {
  let text: string;
  try {
    text = readFileSync('/proc/self/limits', 'utf8');
  } catch {
    return undefined;
  }
  const m = /^Max open files\s+(\d+)/m.exec(text);
  return m ? Number(m[1]) : undefined;
}

/**
 * The connection cap actually applied: the configured one, lowered to 75 % of the open-files
 * limit when that is smaller, so that a flood of connections is refused by the cap (Node closes
 * the extra ones at once) instead of exhausting descriptors, which fails accept() and every
 * upstream connect alike.
 */
export function effectiveMaxConnections(configured: number, openFiles: number | undefined): number {
  if (openFiles === undefined) return configured;
  return Math.max(1, Math.min(configured, Math.floor(openFiles * clientShareOfFiles)));
}

const awaitingFirstRequest: unique symbol = Symbol('llm-gateway.awaitingFirstRequest');

declare module 'node:net' {
  interface Socket {
    [awaitingFirstRequest]?: boolean;
  }
}

/**
 * Closes connections that stay silent before their first request. Node only times out a request
 * once its first byte arrived (headersTimeout) and an idle keep-alive connection after a
 * response (keepAliveTimeout); a connection that never sends a byte held its descriptor forever.
 * The socket timeout counts silence (any byte received restarts it) and is lifted when the first
 * request's headers are complete; from then on Node's own timeouts apply.
 */
export function closeSilentConnections(server: Server, idleMs: number): void {
  server.on('connection', (socket: Socket) => {
    socket[awaitingFirstRequest] = true;
    socket.setTimeout(idleMs);
  });
}

/** Called for every request: lifts the silent-connection timeout on a connection's first one. */
export function firstRequestArrived(socket: Socket): void {
  if (socket[awaitingFirstRequest] === true) {
    socket[awaitingFirstRequest] = false;
    socket.setTimeout(0);
  }
}
