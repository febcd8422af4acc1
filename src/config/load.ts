import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigIssue } from './config-error.js';
import { configSchema, envRefPattern, isPostgresUrl, isRedisUrl, tenantKeyPattern, type AdminConfig, type BudgetWebhookConfig, type DatabaseConfig, type DeploymentConfig, type ParsedConfig, type RedisConfig, type StateConfig, type TenantConfig } from './schema.js';
import { Secret } from './secret.js';
import { resolveTracing, type ResolvedTracing } from './tracing-settings.js';

export type { ResolvedTracing };
// Part of the loader's API; in their own file so the CLI can catch them without loading the loader.
export { ConfigError, type ConfigIssue };

export interface ResolvedAws {
  readonly region: string;
  readonly accessKeyId: Secret;
  readonly secretAccessKey: Secret;
  readonly sessionToken: Secret | undefined;
}

export type ResolvedDeployment = Omit<DeploymentConfig, 'apiKey' | 'aws'> & { readonly apiKey: Secret | undefined; readonly aws: ResolvedAws | undefined };
export type ResolvedTenant = Omit<TenantConfig, 'keys'> & {
  /** SHA-256 hex digests of the tenant's keys; plain keys never outlive loading. */
  readonly keyDigests: readonly string[];
};

/** The Redis URL may carry a password, so it is a Secret like a provider key. */
export type ResolvedRedis = Omit<RedisConfig, 'url'> & { readonly url: Secret };
/** The database URL may carry a password: a Secret. `url` falls back to `DATABASE_URL`. */
export type ResolvedDatabase = Omit<DatabaseConfig, 'url'> & { readonly url: Secret | undefined };
export type ResolvedState = Omit<StateConfig, 'redis' | 'database'> & { readonly redis: ResolvedRedis | undefined; readonly database: ResolvedDatabase | undefined };
export type ResolvedAdmin = Omit<AdminConfig, 'bootstrapKey'> & { readonly bootstrapKey: Secret | undefined };

/** The operator listener's settings with its bearer token read from the environment. */
export type ResolvedServer = Omit<ParsedConfig['server'], 'metrics'> & {
  readonly metrics: Omit<ParsedConfig['server']['metrics'], 'bearerToken'> & { readonly bearerToken: Secret | undefined };
};

/** The budget webhook with its URL and header values read from the environment (either may hold a token). */
export type ResolvedBudgetWebhook = Omit<BudgetWebhookConfig, 'url' | 'headers'> & { readonly url: Secret; readonly headers: Readonly<Record<string, Secret>> };
export type ResolvedBudgets = { readonly webhook: ResolvedBudgetWebhook | undefined };

/** A validated, env-resolved, deeply frozen configuration, ready to compile. */
export type GatewayConfig = Readonly<
  Omit<ParsedConfig, 'deployments' | 'tenants' | 'state' | 'server' | 'admin' | 'budgets' | 'tracing'> & {
    budgets: ResolvedBudgets;
    tracing: ResolvedTracing;
    server: ResolvedServer;
    admin: ResolvedAdmin | undefined;
    deployments: Readonly<Record<string, ResolvedDeployment>>;
    tenants: Readonly<Record<string, ResolvedTenant>>;
    state: ResolvedState;
  }
>;

/** Reads a YAML (or JSON) config file; throws ConfigError listing every problem with its path. */
export async function loadConfig(path: string, env: NodeJS.ProcessEnv = process.env): Promise<GatewayConfig> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError([{ path: '', message: `cannot read ${path}: ${(err as Error).message}` }], path);
  }
  return parseConfigText(text, env, path);
}

/** Parses YAML text into a GatewayConfig; throws ConfigError. */
export function parseConfigText(text: string, env: NodeJS.ProcessEnv = process.env, source = 'config'): GatewayConfig {
  const doc = parseDocument(text, { uniqueKeys: true, prettyErrors: true });
  if (doc.errors.length > 0) {
    throw new ConfigError(
      doc.errors.map((e) => ({ path: e.linePos ? `line ${e.linePos[0].line}` : '', message: e.message.split('\n')[0] ?? e.message })),
      source,
    );
  }
  let value: unknown;
  try {
    value = doc.toJS({ maxAliasCount: 100 });
  } catch (err) {
    // Alias bombs and aliases to unknown anchors throw here; they are config errors too.
    throw new ConfigError([{ path: '', message: (err as Error).message }], source);
  }
  return resolveConfig(value, env, source);
}

/** Validates a config object (as from YAML) and resolves env references; throws ConfigError. */
export function resolveConfig(input: unknown, env: NodeJS.ProcessEnv = process.env, source = 'config'): GatewayConfig {
  const result = configSchema.safeParse(input);
  // Unset variables are reported with the schema's problems, so one run lists everything.
  if (!result.success) throw new ConfigError([...zodIssues(result.error), ...unsetEnvReferences(input, env)], source);
  const parsed = result.data;
  const issues: ConfigIssue[] = [];
  const deployments: Record<string, ResolvedDeployment> = {};
  for (const [id, d] of Object.entries(parsed.deployments)) {
    const { apiKey, aws, ...rest } = d;
    const at = (key: string): string => `deployments.${id}.${key}`;
    deployments[id] = {
      ...rest,
      apiKey: apiKey === undefined ? undefined : resolveSecret(apiKey, env, at('apiKey'), issues),
      aws: aws === undefined ? undefined : resolveAws(aws, env, at('aws'), issues),
    };
  }
  const tenants: Record<string, ResolvedTenant> = {};
  const seenDigests = new Map<string, string>();
  for (const [id, t] of Object.entries(parsed.tenants)) {
    const { keys, ...rest } = t;
    const keyDigests: string[] = [];
    for (const [i, k] of keys.entries()) {
      const path = `tenants.${id}.keys[${i}]`;
      const digest = typeof k === 'string' ? keyDigest(k, env, path, issues) : k.sha256;
      if (digest === undefined) continue;
      const other = seenDigests.get(digest);
      if (other !== undefined) issues.push({ path, message: `the same key is also given at ${other}` });
      seenDigests.set(digest, path);
      keyDigests.push(digest);
    }
    tenants[id] = { ...rest, keyDigests };
  }
  const { redis, database, ...stateRest } = parsed.state;
  let redisUrl = redis === undefined ? undefined : resolveSecret(redis.url, env, 'state.redis.url', issues);
  if (redisUrl && !isRedisUrl(redisUrl.reveal())) {
    issues.push({ path: 'state.redis.url', message: 'must resolve to a redis:// or rediss:// URL' });
    redisUrl = undefined;
  }
  const controlPlane = parsed.admin !== undefined || database !== undefined;
  const state: ResolvedState = {
    ...stateRest,
    redis: redis && redisUrl ? { ...redis, url: redisUrl } : undefined,
    database: controlPlane ? resolveDatabase(database ?? databaseDefaults(), env, issues) : undefined,
  };
  const admin: ResolvedAdmin | undefined = parsed.admin && { ...parsed.admin, bootstrapKey: resolveBootstrapKey(parsed.admin.bootstrapKey, env, issues) };
  const { bearerToken, ...metricsRest } = parsed.server.metrics;
  const server: ResolvedServer = {
    ...parsed.server,
    metrics: { ...metricsRest, bearerToken: bearerToken === undefined ? undefined : resolveSecret(bearerToken, env, 'server.metrics.bearerToken', issues) },
  };
  const budgets: ResolvedBudgets = { webhook: parsed.budgets.webhook && resolveWebhook(parsed.budgets.webhook, env, issues) };
  const tracing = resolveTracing(parsed.tracing, env, (value, path) => resolveSecret(value, env, path, issues), (value) => new Secret(value), issues);
  if (issues.length > 0) throw new ConfigError(issues, source);
  return deepFreeze({ ...parsed, server, deployments, tenants, state, admin, budgets, tracing });
}

/**
 * The store of a control plane turned on by `admin` alone: every default. The database URL comes
 * from `state.database.url`, else `DATABASE_URL` (read only when the control plane is on, so an
 * unrelated variable never connects a gateway that does not use it), else the embedded database.
 */
function databaseDefaults(): DatabaseConfig {
  return configSchema.shape.state.parse({ database: {} }).database as DatabaseConfig;
}

function resolveDatabase(database: DatabaseConfig, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): ResolvedDatabase {
  const { url, ...rest } = database;
  const fromEnv = url === undefined && env.DATABASE_URL ? env.DATABASE_URL : undefined;
  const source = url ?? fromEnv;
  const path = url !== undefined ? 'state.database.url' : 'DATABASE_URL';
  let resolved = source === undefined ? undefined : resolveSecret(source, env, path, issues);
  if (resolved && !isPostgresUrl(resolved.reveal())) {
    issues.push({ path, message: 'must resolve to a postgres:// or postgresql:// URL' });
    resolved = undefined;
  }
  return { ...rest, url: resolved };
}

/** Short bootstrap credentials can be guessed; the admin role deserves at least 32 characters. */
function resolveBootstrapKey(ref: string | undefined, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): Secret | undefined {
  if (ref === undefined) return undefined;
  const key = resolveSecret(ref, env, 'admin.bootstrapKey', issues);
  if (key && !/^[A-Za-z0-9._~+/-]{32,512}=*$/.test(key.reveal())) {
    issues.push({ path: 'admin.bootstrapKey', message: 'must resolve to 32-512 characters of A-Z a-z 0-9 . _ ~ + / - (e.g. openssl rand -hex 32)' });
    return undefined;
  }
  return key;
}

export function sha256Hex(value: string): string {
  return createHash('sha256').update(value, 'utf8').digest('hex');
}

/** Digest of a plain or env-referenced tenant key; undefined (with an issue) if it cannot be used. */
function keyDigest(value: string, env: NodeJS.ProcessEnv, path: string, issues: ConfigIssue[]): string | undefined {
  const key = resolveSecret(value, env, path, issues)?.reveal();
  if (key === undefined) return undefined;
  if (!tenantKeyPattern.test(key)) {
    issues.push({ path, message: 'a key must be 1-512 characters of A-Z a-z 0-9 . _ ~ + / - (optionally ending in =), as clients send it in "Authorization: Bearer <key>"' });
    return undefined;
  }
  return sha256Hex(key);
}

function resolveAws(aws: NonNullable<DeploymentConfig['aws']>, env: NodeJS.ProcessEnv, path: string, issues: ConfigIssue[]): ResolvedAws | undefined {
  const accessKeyId = resolveSecret(aws.accessKeyId, env, `${path}.accessKeyId`, issues);
  const secretAccessKey = resolveSecret(aws.secretAccessKey, env, `${path}.secretAccessKey`, issues);
  const sessionToken = aws.sessionToken === undefined ? undefined : resolveSecret(aws.sessionToken, env, `${path}.sessionToken`, issues);
  if (!accessKeyId || !secretAccessKey) return undefined;
  return { region: aws.region, accessKeyId, secretAccessKey, sessionToken };
}

function resolveWebhook(w: BudgetWebhookConfig, env: NodeJS.ProcessEnv, issues: ConfigIssue[]): ResolvedBudgetWebhook | undefined {
  const url = resolveSecret(w.url, env, 'budgets.webhook.url', issues);
  if (url && !/^https?:\/\/[^\s]+$/.test(url.reveal())) {
    issues.push({ path: 'budgets.webhook.url', message: 'must resolve to an http:// or https:// URL' });
    return undefined;
  }
  const headers: Record<string, Secret> = {};
  for (const [name, value] of Object.entries(w.headers)) {
    const secret = resolveSecret(value, env, `budgets.webhook.headers.${name}`, issues);
    if (secret) headers[name.toLowerCase()] = secret;
  }
  return url ? { ...w, url, headers } : undefined;
}

function resolveSecret(value: string, env: NodeJS.ProcessEnv, path: string, issues: ConfigIssue[]): Secret | undefined {
  const match = envRefPattern.exec(value);
  if (!match) return new Secret(value);
  const name = match[1] as string;
  const resolved = env[name];
  if (resolved === undefined || resolved === '') {
    issues.push({ path, message: `environment variable ${name} is not set` });
    return undefined;
  }
  return new Secret(resolved);
}

/**
 * `${env:NAME}` references to unset variables anywhere in a raw config (used when the schema
 * failed, so the resolution below never ran). Linear in the size of the config.
 */
function* unsetEnvReferences(value: unknown, env: NodeJS.ProcessEnv, path: PropertyKey[] = []): Generator<ConfigIssue> {
  if (typeof value === 'string') {
    const name = envRefPattern.exec(value)?.[1];
    if (name !== undefined && (env[name] === undefined || env[name] === '')) yield { path: formatPath(path), message: `environment variable ${name} is not set` };
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) yield* unsetEnvReferences(v, env, [...path, i]);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) yield* unsetEnvReferences(v, env, [...path, k]);
  }
}

function zodIssues(error: z.ZodError): ConfigIssue[] {
  return error.issues.flatMap((issue) => {
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((key) => ({ path: formatPath([...issue.path, key]), message: `unknown key "${key}"` }));
    }
    return [{ path: formatPath(issue.path), message: issue.message }];
  });
}

/** `['models','gpt-mini','targets',1,'weight']` → `models.gpt-mini.targets[1].weight`. */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !(value instanceof Secret) && !Object.isFrozen(value)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}
