/**
 * The error catalog: every error the gateway can return, by stable code. Codes are part of the
 * public API (docs/errors.md lists them and a test keeps the two in step): never rename one.
 */
export type OpenAiErrorType =
  | 'invalid_request_error'
  | 'authentication_error'
  | 'permission_error'
  | 'not_found_error'
  | 'rate_limit_error'
  | 'insufficient_quota'
  | 'server_error'
  | 'timeout_error';

export interface CatalogEntry {
  /** HTTP status. Upstream client errors (`upstream_client_error`) keep the upstream's status instead. */
  readonly status: number;
  readonly type: OpenAiErrorType;
  /** Whether an SDK should retry this on its own; sent as `x-should-retry`. */
  readonly shouldRetry: boolean;
  /** One line for docs/errors.md. */
  readonly description: string;
}

export const errorCatalog = {
  invalid_json: {
    status: 400,
    type: 'invalid_request_error',
    shouldRetry: false,
    description: 'The body is not valid JSON, is nested too deeply, or is not a JSON object.',
  },
  unsupported_media_type: {
    status: 400,
    type: 'invalid_request_error',
    shouldRetry: false,
    description: 'The request body is not sent as `Content-Type: application/json` (on `POST /v1/files`: as `multipart/form-data`).',
  },
  invalid_request: {
    status: 400,
    type: 'invalid_request_error',
    shouldRetry: false,
    description: 'A field is missing, has the wrong type or is out of range; `param` names it.',
  },
  unsupported_parameter: {
    status: 400,
    type: 'invalid_request_error',
    shouldRetry: false,
    description: 'The request uses a parameter the gateway refuses (such as `api_base`) or that the serving provider cannot honour; `param` names it.',
  },
  missing_api_key: {
    status: 401,
    type: 'authentication_error',
    shouldRetry: false,
    description: 'No `Authorization: Bearer <key>` header was sent (on `/v1/messages`, neither it nor `x-api-key: <key>`).',
  },
  invalid_api_key: {
    status: 401,
    type: 'authentication_error',
    shouldRetry: false,
    description: 'The key is malformed or belongs to no tenant. The message never repeats the key.',
  },
  api_key_expired: {
    status: 401,
    type: 'authentication_error',
    shouldRetry: false,
    description: 'The key was valid but its `expiresAt` has passed (or, after a rotation, its grace period ended). Ask for a new one.',
  },
  invalid_token: {
    status: 401,
    type: 'authentication_error',
    shouldRetry: false,
    description: "A JWT from the identity provider was refused: expired, not yet valid, wrong issuer or audience, bad signature, an algorithm not allowed, or an unknown signing key; the message says which, never the token.",
  },
  permission_denied: {
    status: 403,
    type: 'permission_error',
    shouldRetry: false,
    description: "The caller's role does not allow this action on this resource (docs/access-control.md), or a read-only key called a model.",
  },
  model_not_allowed: {
    status: 403,
    type: 'permission_error',
    shouldRetry: false,
    description: "The model exists but is not in this tenant's allow-list.",
  },
  model_not_found: {
    status: 404,
    type: 'invalid_request_error',
    shouldRetry: false,
    description: 'No model alias with this name is configured.',
  },
  resource_not_found: {
    status: 404,
    type: 'not_found_error',
    shouldRetry: false,
    description: "Admin API: no team, key or user with this name or id (or none the caller may see). Batch API: no file or batch with this id in the caller's team. Responses API: no stored response with this id in the caller's team.",
  },
  previous_response_not_found: {
    status: 400,
    type: 'invalid_request_error',
    shouldRetry: false,
    description: "`/v1/responses`: `previous_response_id` names no stored response of the caller's team (never stored, `store: false`, deleted, expired, another team's, or, without a control plane, stored by another gateway process), or a turn before it is gone. OpenAI's own status and code.",
  },
  resource_conflict: {
    status: 409,
    type: 'invalid_request_error',
    shouldRetry: false,
    description: 'Admin API: a team or user with this name already exists, or the resource is defined in the config file and is read-only (`source: config`). Batch API: the batch has already ended, so it cannot be cancelled.',
  },
  not_found: {
    status: 404,
    type: 'not_found_error',
    shouldRetry: false,
    description: 'No such route.',
  },
  method_not_allowed: {
    status: 405,
    type: 'invalid_request_error',
    shouldRetry: false,
    description: 'The route exists but not for this HTTP method.',
  },
  request_timeout: {
    status: 408,
    type: 'invalid_request_error',
    shouldRetry: true,
    description: 'The request headers or body did not arrive within `server.headersTimeoutMs` / `server.requestTimeoutMs`. The connection is closed.',
  },
  request_too_large: {
    status: 413,
    type: 'invalid_request_error',
    shouldRetry: false,
    description: 'The body is larger than `server.bodyLimitBytes` (an upload to `/v1/files`: `batches.maxFileBytes`). The connection is closed, except after an upload refused part-way (the client may still be sending; `server.requestTimeoutMs` ends it).',
  },
  headers_too_large: {
    status: 431,
    type: 'invalid_request_error',
    shouldRetry: false,
    description: 'The request headers are larger than `server.maxHeaderBytes`. The connection is closed.',
  },
  rate_limit_exceeded: {
    status: 429,
    type: 'rate_limit_error',
    shouldRetry: true,
    description: "The tenant's request or token limit for this model is spent. `Retry-After` and `retry-after-ms` say when to come back.",
  },
  concurrency_limit_exceeded: {
    status: 429,
    type: 'rate_limit_error',
    shouldRetry: true,
    description: "The tenant already has as many requests in flight as `tenants.<name>.concurrency.maxInFlight` allows (and, with `queue.maxWaitMs` set, none freed up while the request waited, or too many of its requests were already waiting). `Retry-After` is 1 s without a queue: a slot frees as soon as one of them ends; after a wait, the time for its slots to turn over as observed (mean hold time × (its waiters + 1) ÷ its slots), at least 1 s.",
  },
  rate_limit_unavailable: {
    status: 503,
    type: 'server_error',
    shouldRetry: true,
    description: 'A limit with `failureMode: closed` cannot be checked because the shared state backend (Redis) is unavailable. `Retry-After` says when the gateway tries Redis again. Requests without limits are not affected.',
  },
  budget_exceeded: {
    status: 429,
    type: 'insufficient_quota',
    shouldRetry: false,
    description: "A hard budget of the team or key (docs/budgets.md) has no room for this request's worst-case cost. The message names the budget, its limit and when it resets; `Retry-After` is the time to that reset, at most an hour like every `Retry-After` (absent for a lifetime budget).",
  },
  budget_unavailable: {
    status: 503,
    type: 'server_error',
    shouldRetry: true,
    description: 'Budgets cannot be checked because the shared state backend (Redis) is unavailable and `state.failureMode` is `closed`. `Retry-After` says when the gateway tries Redis again. Requests of teams and keys without budgets are not affected.',
  },
  cost_ceiling_exceeded: {
    status: 400,
    type: 'invalid_request_error',
    shouldRetry: false,
    description: "Every target of the model (and its fallbacks) could cost more than the per-request ceiling (the key's `maxCostPerRequestUsd` or the `x-gateway-max-cost-usd` header, the lower wins). The message gives the cheapest target's worst case and the ceiling: lower `max_tokens`, shorten the prompt or raise the ceiling.",
  },
  upstream_rate_limited: {
    status: 429,
    type: 'rate_limit_error',
    shouldRetry: false,
    description: "Every deployment that could serve the model is rate limited by its provider for longer than the request may wait. `Retry-After` says when the first of them leaves its cooldown (the provider's own `Retry-After` where it sent one, else `retry.defaultCooldownMs`; at least 1 s).",
  },
  upstream_client_error: {
    status: 400,
    type: 'invalid_request_error',
    shouldRetry: false,
    description: "The provider rejected the request (its 4xx status is kept, e.g. a context-length 400); the provider's message is passed on with secrets scrubbed.",
  },
  upstream_error: {
    status: 502,
    type: 'server_error',
    shouldRetry: false,
    description: 'Every attempt failed (5xx, connection refused or reset, malformed response); the gateway already retried.',
  },
  upstream_timeout: {
    status: 504,
    type: 'timeout_error',
    shouldRetry: false,
    description: 'The upstream did not answer, or stalled mid-stream, within the configured timeouts or the request deadline.',
  },
  upstream_overloaded: {
    status: 503,
    type: 'server_error',
    shouldRetry: false,
    description: "Every attempt found the provider overloaded (Anthropic's 529 `overloaded_error`); the gateway already retried. The provider's `Retry-After` is passed on when it sent one.",
  },
  no_available_deployment: {
    status: 503,
    type: 'server_error',
    shouldRetry: false,
    description: "Every deployment of the model (and of its fallbacks) has an open circuit breaker or is cooling down. `Retry-After` says when the first one is probed again.",
  },
  slo_unattainable: {
    status: 503,
    type: 'server_error',
    shouldRetry: false,
    description: "The model's strategy is `predicted_latency` with `onSloMiss: shed`, and no deployment is predicted to meet the request's `x-gateway-slo-ttft-ms` / `x-gateway-slo-tpot-ms` now; nothing was sent upstream. `Retry-After` is 1 s.",
  },
  upstream_saturated: {
    status: 503,
    type: 'server_error',
    shouldRetry: true,
    description: "Every connection the gateway may open to the model's deployments is busy (or this tenant holds its share of them, `tenantConnectionPercent`) and none became free within `timeouts.poolQueueMs` (or `queue.maxWaitMs`, if longer), or too many calls were already waiting; nothing was sent upstream. `Retry-After` is the time for the waiting calls to get a connection as observed (mean connection hold time × (calls waiting + 1) ÷ connections), at least 1 s.",
  },
  uploads_busy: {
    status: 503,
    type: 'server_error',
    shouldRetry: true,
    description: 'Uploads to `/v1/files` in progress on this replica already hold as many bytes as it allows (4 × `batches.maxFileBytes`); nothing was stored. `Retry-After` is 1 s.',
  },
  control_plane_unavailable: {
    status: 503,
    type: 'server_error',
    shouldRetry: true,
    description: 'Admin API and Batch API: the control-plane database cannot be reached. The data plane keeps serving with the keys it last loaded. `Retry-After` is 5 s.',
  },
  shutting_down: {
    status: 503,
    type: 'server_error',
    shouldRetry: true,
    description: 'The gateway is shutting down and the request had not finished when `server.shutdownGraceMs` ran out (a stream gets it as its one error event); retry it, another replica will take it.',
  },
  internal_error: {
    status: 500,
    type: 'server_error',
    shouldRetry: true,
    description: 'A bug in the gateway. The message is generic; the log line with the same request id has the detail.',
  },
} as const satisfies Record<string, CatalogEntry>;

export type ErrorCode = keyof typeof errorCatalog;
