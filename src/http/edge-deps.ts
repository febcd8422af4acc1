import type { Authenticator } from '../auth/authenticator.js';
import type { Clock } from '../clock.js';
import type { GatewayConfig } from '../config/load.js';
import type { GatewayEvents } from '../observability/events.js';
import type { Pipeline } from '../pipeline/handle-request.js';
import type { Router } from '../routing/router.js';
import type { OutputBudget } from './body-writer.js';
import type { InFlightRequests } from './drain.js';

/** The bounds the edge enforces (config `server.*`; see docs/operations.md "Limits and timeouts"). */
export interface HttpLimits {
  readonly bodyLimitBytes: number;
  readonly headersTimeoutMs: number;
  readonly requestTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly maxHeaderBytes: number;
  /** Open client connections at most (already lowered to fit the open-files limit). */
  readonly maxConnections: number;
  /** A new connection silent this long before its first request is closed. */
  readonly idleConnectionTimeoutMs: number;
  /** A client that reads nothing of its response for this long is disconnected. */
  readonly stallTimeoutMs: number;
}

/** The parts of one config version the edge uses; a hot reload swaps them whole. */
export interface HttpRuntime {
  readonly config: GatewayConfig;
  readonly pipeline: Pipeline;
  readonly auth: Authenticator;
  readonly router: Router;
}

/** What the HTTP edge needs from the runtime; it holds no logic of its own. */
export interface HttpDeps {
  readonly limits: HttpLimits;
  readonly clock: Clock;
  /** Where the edge records the outcome of requests the pipeline never sees (refusals, probes). */
  readonly events: Pick<GatewayEvents, 'requestFinished'>;
  /** Takes the current runtime for one request; `release` when it ends. */
  readonly acquire: () => { readonly runtime: HttpRuntime; release(): void };
  /** Bytes handed to client sockets and not yet flushed, shared by every response (server.maxBytesInFlight). */
  readonly outputBudget: OutputBudget;
  /** Accepted requests, for the drain. */
  readonly inFlight: InFlightRequests;
  readonly metrics: { readonly contentType: string; text(): Promise<string> };
  /** `starting` until the control plane's first snapshot is loaded; `draining` from SIGTERM. */
  readonly readiness: () => 'ready' | 'starting' | 'draining';
  /** Unix seconds shown as `created` in /v1/models. */
  readonly startedAtSeconds: number;
  /** Called with unexpected errors (already turned into a generic 500 for the client). */
  readonly onInternalError: (err: unknown, requestId: string) => void;
}
