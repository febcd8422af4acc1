/**
 * Versioned migrations, applied in order at start (migrate.ts). Never edit one that has shipped:
 * its checksum is recorded, and a changed one stops the gateway from starting. Add a new one.
 * Kept as TypeScript strings so the build ships them with the code (no files to copy).
 */
export interface Migration {
  readonly id: number;
  readonly name: string;
  readonly sql: string;
}

export const migrations: readonly Migration[] = [
  {
    id: 1,
    name: 'control plane: teams, keys, users, audit',
    sql: `
CREATE TABLE teams (
  name text PRIMARY KEY,
  models jsonb NOT NULL,
  limits jsonb,
  model_limits jsonb,
  concurrency jsonb,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE api_keys (
  id text PRIMARY KEY,
  team text NOT NULL,
  name text,
  role text NOT NULL CHECK (role IN ('team_admin', 'member', 'viewer')),
  models jsonb,
  limits jsonb,
  metadata jsonb NOT NULL DEFAULT '{}'::jsonb,
  prefix text NOT NULL,
  expires_at timestamptz,
  revoked_at timestamptz,
  created_at timestamptz NOT NULL,
  created_by text NOT NULL,
  last_used_at timestamptz
);
CREATE INDEX api_keys_team_idx ON api_keys (team);

CREATE TABLE api_key_secrets (
  digest text PRIMARY KEY,
  key_id text NOT NULL REFERENCES api_keys (id) ON DELETE CASCADE,
  created_at timestamptz NOT NULL,
  retires_at timestamptz
);
CREATE INDEX api_key_secrets_key_idx ON api_key_secrets (key_id);

CREATE TABLE users (
  id text PRIMARY KEY,
  subject text NOT NULL UNIQUE,
  email text,
  role text CHECK (role IN ('admin', 'viewer')),
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL
);

CREATE TABLE memberships (
  user_id text NOT NULL REFERENCES users (id) ON DELETE CASCADE,
  team text NOT NULL,
  role text NOT NULL CHECK (role IN ('team_admin', 'member', 'viewer')),
  PRIMARY KEY (user_id, team)
);
CREATE INDEX memberships_team_idx ON memberships (team);

CREATE TABLE audit_log (
  seq bigint PRIMARY KEY,
  at timestamptz NOT NULL,
  actor text NOT NULL,
  actor_type text NOT NULL,
  action text NOT NULL,
  target_type text,
  target_id text,
  source text,
  request_id text,
  before jsonb,
  after jsonb,
  prev_hash text NOT NULL,
  hash text NOT NULL
);
CREATE INDEX audit_log_at_idx ON audit_log (at);
CREATE INDEX audit_log_actor_idx ON audit_log (actor);
CREATE INDEX audit_log_target_idx ON audit_log (target_type, target_id);

CREATE TABLE control_state (
  id integer PRIMARY KEY CHECK (id = 1),
  version bigint NOT NULL,
  audit_seq bigint NOT NULL,
  audit_hash text NOT NULL
);
INSERT INTO control_state (id, version, audit_seq, audit_hash) VALUES (1, 1, 0, repeat('0', 64));
`,
  },
  {
    id: 2,
    name: 'request log (partitioned by day), daily spend, opted-in payloads',
    sql: `
CREATE TABLE request_log (
  id text NOT NULL,
  started_at timestamptz NOT NULL,
  key_id text,
  team text,
  "user" text,
  alias text NOT NULL,
  served_alias text,
  deployment text,
  operation text NOT NULL,
  stream boolean NOT NULL,
  attempts integer NOT NULL,
  status integer NOT NULL,
  outcome text NOT NULL,
  error_code text,
  prompt_tokens integer,
  completion_tokens integer,
  cached_tokens integer,
  cache_write_tokens integer,
  reasoning_tokens integer,
  usage_estimated boolean NOT NULL DEFAULT false,
  cost_pico bigint,
  duration_ms integer NOT NULL,
  ttft_ms integer,
  upstream_ms integer NOT NULL,
  detail jsonb NOT NULL DEFAULT '{}'::jsonb,
  PRIMARY KEY (started_at, id)
) PARTITION BY RANGE (started_at);
CREATE INDEX request_log_team_idx ON request_log (team, started_at, id);
CREATE INDEX request_log_key_idx ON request_log (key_id, started_at);

CREATE TABLE spend_daily (
  day date NOT NULL,
  team text NOT NULL,
  key_id text NOT NULL,
  alias text NOT NULL,
  deployment text NOT NULL,
  requests bigint NOT NULL,
  prompt_tokens bigint NOT NULL,
  completion_tokens bigint NOT NULL,
  cached_tokens bigint NOT NULL,
  reasoning_tokens bigint NOT NULL,
  cost_pico numeric NOT NULL,
  unpriced_requests bigint NOT NULL,
  estimated_requests bigint NOT NULL,
  PRIMARY KEY (day, team, key_id, alias, deployment)
);
CREATE INDEX spend_daily_team_idx ON spend_daily (team, day);

ALTER TABLE teams ADD COLUMN payloads jsonb;

CREATE TABLE request_payloads (
  id text NOT NULL,
  started_at timestamptz NOT NULL,
  team text NOT NULL,
  request text NOT NULL,
  response text,
  truncated boolean NOT NULL,
  expires_at timestamptz NOT NULL,
  PRIMARY KEY (started_at, id)
);
CREATE INDEX request_payloads_expires_idx ON request_payloads (expires_at);
`,
  },
  {
    id: 3,
    name: 'budgets: team and key budgets, per-request cost ceiling',
    sql: `
ALTER TABLE teams ADD COLUMN budgets jsonb;
ALTER TABLE api_keys ADD COLUMN budgets jsonb;
ALTER TABLE api_keys ADD COLUMN max_cost_per_request_usd text;
`,
  },
  {
    id: 4,
    name: 'request log: each attempt (the console timeline) and the trace id',
    sql: `
ALTER TABLE request_log ADD COLUMN attempt_log jsonb;
ALTER TABLE request_log ADD COLUMN trace_id text;
`,
  },
  {
    id: 5,
    name: 'batch API: files, batches and their items (the durable job records)',
    sql: `
CREATE TABLE files (
  id text PRIMARY KEY,
  team text NOT NULL,
  purpose text NOT NULL CHECK (purpose IN ('batch', 'batch_output', 'batch_error')),
  filename text NOT NULL,
  bytes bigint NOT NULL,
  content bytea,
  batch_id text,
  created_by text NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz
);
CREATE INDEX files_team_idx ON files (team, created_at, id);
CREATE INDEX files_expires_idx ON files (expires_at) WHERE expires_at IS NOT NULL;

CREATE TABLE batches (
  id text PRIMARY KEY,
  team text NOT NULL,
  key_id text NOT NULL,
  endpoint text NOT NULL,
  input_file_id text NOT NULL,
  completion_window text NOT NULL,
  status text NOT NULL CHECK (status IN ('validating', 'failed', 'in_progress', 'finalizing', 'completed', 'expired', 'cancelling', 'cancelled')),
  metadata jsonb,
  errors jsonb,
  output_file_id text,
  error_file_id text,
  total integer NOT NULL DEFAULT 0,
  completed integer NOT NULL DEFAULT 0,
  failed integer NOT NULL DEFAULT 0,
  pending integer NOT NULL DEFAULT 0,
  cost_pico bigint NOT NULL DEFAULT 0,
  created_at timestamptz NOT NULL,
  in_progress_at timestamptz,
  expires_at timestamptz NOT NULL,
  finalizing_at timestamptz,
  completed_at timestamptz,
  failed_at timestamptz,
  expired_at timestamptz,
  cancelling_at timestamptz,
  cancelled_at timestamptz
);
CREATE INDEX batches_team_idx ON batches (team, created_at, id);
CREATE INDEX batches_open_idx ON batches (status) WHERE status IN ('validating', 'in_progress', 'finalizing', 'cancelling');

CREATE TABLE batch_items (
  batch_id text NOT NULL REFERENCES batches (id) ON DELETE CASCADE,
  line integer NOT NULL,
  custom_id text NOT NULL,
  body jsonb NOT NULL,
  state text NOT NULL CHECK (state IN ('queued', 'running', 'succeeded', 'failed', 'cancelled', 'expired')),
  attempts integer NOT NULL DEFAULT 0,
  not_before timestamptz,
  claimed_by text,
  lease_until timestamptz,
  status_code integer,
  request_id text,
  response jsonb,
  error jsonb,
  cost_pico bigint,
  finished_at timestamptz,
  dead_lettered_at timestamptz,
  PRIMARY KEY (batch_id, line),
  UNIQUE (batch_id, custom_id)
);
CREATE INDEX batch_items_runnable_idx ON batch_items (state, not_before) WHERE state IN ('queued', 'running');
CREATE INDEX batch_items_dead_letter_idx ON batch_items (dead_lettered_at) WHERE dead_lettered_at IS NOT NULL;
`,
  },
  {
    id: 6,
    name: 'queue: a team\'s weight and priority classes',
    sql: `
ALTER TABLE teams ADD COLUMN queue jsonb;
`,
  },
  {
    id: 7,
    name: 'batches: runnable items in the order the runner claims them',
    sql: `
CREATE INDEX batch_items_queued_order_idx ON batch_items (line, batch_id) WHERE state = 'queued';
`,
  },
  {
    id: 8,
    name: 'responses API: stored responses (previous_response_id, GET, DELETE, input_items)',
    sql: `
CREATE TABLE responses (
  id text PRIMARY KEY,
  team text NOT NULL,
  created_by text NOT NULL,
  model text NOT NULL,
  previous_response_id text,
  input_items jsonb NOT NULL,
  output jsonb NOT NULL,
  response jsonb NOT NULL,
  depth integer NOT NULL,
  chain_items integer NOT NULL,
  chain_bytes bigint NOT NULL,
  created_at timestamptz NOT NULL,
  expires_at timestamptz NOT NULL
);
CREATE INDEX responses_team_idx ON responses (team, id);
CREATE INDEX responses_expires_idx ON responses (expires_at);
`,
  },
];
