import type { z } from 'zod';
import type { Clock } from '../clock.js';
import type { GatewayConfig } from '../config/load.js';
import type { AuditActor, AuditEvent } from '../control/audit.js';
import type { SecurityAuditQueue } from '../control/audit-queue.js';
import type { ControlPlane } from '../control/control-plane.js';
import type { ControlDb } from '../control/store/store.js';
import type { HttpMethod } from '../http/routes.js';
import type { RequestScope } from '../http/request-scope.js';
import type { Runtime } from '../lifecycle/runtime.js';
import type { LiveAggregator } from '../observability/live/live-aggregator.js';
import type { Cooldowns } from '../routing/cooldowns.js';
import type { BatchEngine } from '../batches/engine.js';
import type { LiveHub } from './live-hub.js';
import type { Action, Actor } from './access.js';
import type { ActorSources } from './actor.js';

/** What every admin route shares: the control plane, how callers are identified, the clock. */
export interface AdminContext {
  readonly control: ControlPlane;
  readonly actors: ActorSources;
  readonly security: SecurityAuditQueue;
  readonly clock: Clock;
  readonly rotationGraceMs: number;
  /** This process's live traffic and deployment past, and the console streams fed from it. */
  readonly live?: { readonly aggregator: LiveAggregator; readonly hub: LiveHub };
  /** The runtime serving now (its deployments, breakers and pools). */
  readonly runtime?: () => Runtime;
  /** Provider-429 cooldowns (monotonic ms until each deployment may be tried again). */
  readonly cooldowns?: Cooldowns;
  /** The batch runner: a replayed dead letter is handed to it. */
  readonly batches?: Pick<BatchEngine, 'requeue'>;
}

/** One admin call, once its caller is known and its body valid. */
export interface AdminCall<Body = unknown> {
  readonly actor: Actor;
  readonly body: Body;
  readonly params: readonly string[];
  readonly query: URLSearchParams;
  /** The request's `Accept` header (a route that also answers CSV reads it). */
  readonly accept: string | undefined;
  readonly db: ControlDb;
  readonly ctx: AdminContext;
  /** The config now serving (its tenants are the read-only `source: config` teams). */
  readonly config: GatewayConfig;
  readonly now: Date;
  /** Fields every audit entry of this call carries. */
  readonly auditBase: { readonly actor: AuditActor; readonly source: string | undefined; readonly requestId: string };
  /** Throws permission_denied (and records the denial) unless the actor may. */
  require(action: Action, team?: string): void;
  /**
   * Whether the caller's credential, looked up again now, still allows `action` gateway-wide
   * (a long-lived stream asks this while it runs: a revoked key is cut).
   */
  stillAllowed(action: Action): Promise<boolean>;
  audit(event: Omit<AuditEvent, 'actor' | 'source' | 'requestId'>): AuditEvent;
}

export interface AdminReply {
  readonly status: number;
  readonly body: unknown;
  readonly contentType?: string;
  readonly headers?: Readonly<Record<string, string>>;
  /** A streamed answer (server-sent events): takes the response over instead of `body`. */
  readonly stream?: (scope: RequestScope) => void;
}

/** A row of the admin route table: what the handler does, and what the OpenAPI document says of it. */
export interface AdminRoute {
  readonly method: HttpMethod;
  /** Relative to /admin/v1. */
  readonly path: string;
  readonly summary: string;
  /**
   * The permission: a caller who holds it on no team is refused before the handler runs; the
   * handler checks it on the team concerned (`require`). `any`: every authenticated caller.
   */
  readonly action: Action | 'any';
  readonly body?: z.ZodType;
  readonly query?: Readonly<Record<string, string>>;
  readonly status: number;
  readonly response: z.ZodType | 'ndjson' | 'event-stream';
  /** The JSON answer is also offered as CSV (`format=csv` or `Accept: text/csv`). */
  readonly csv?: boolean;
  readonly handle: (call: AdminCall<never>) => Promise<AdminReply>;
}
