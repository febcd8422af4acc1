import { z } from 'zod';
import { claimPathIssue, type ClaimPath } from './claim-path.js';
import { endpointUrlIssue } from './endpoint-url.js';
import { roles } from './roles.js';

/**
 * Config block `identity`: access tokens (JWTs) from the company's identity provider, accepted
 * besides API keys. Like src/config/schema.ts: strict objects, every default written here, one
 * comment per key (the docs are generated from them). Nothing here imports src/config/schema.ts,
 * so that file can import this one.
 */

/**
 * Signature algorithms a token may use: asymmetric only. The verification key comes from a public
 * JWKS, so an HMAC algorithm would make a public key the shared secret (anyone could sign).
 */
export const jwtAlgorithms = ['RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512', 'ES256', 'ES384', 'ES512', 'EdDSA'] as const;
export type JwtAlgorithm = (typeof jwtAlgorithms)[number];

function algorithmMessage(input: unknown): string {
  if (typeof input === 'string' && input.toLowerCase() === 'none') return "'none' (unsigned tokens) is never accepted";
  if (typeof input === 'string' && /^HS\d+$/i.test(input)) {
    return `${input} is refused: HMAC needs a shared secret, and with keys from a public JWKS anyone could sign tokens (algorithm confusion); use one of ${jwtAlgorithms.join(', ')}`;
  }
  return `must be one of ${jwtAlgorithms.join(', ')}`;
}

const algorithm = z.enum(jwtAlgorithms, { error: (issue) => algorithmMessage(issue.input) });

/** An IdP URL: https, or http to a loopback host only (endpoint-url.ts). */
const endpointUrl = z
  .string()
  .max(2048)
  .superRefine((value, ctx) => {
    const issue = endpointUrlIssue(value);
    if (issue !== undefined) ctx.addIssue({ code: 'custom', message: issue });
  });

const claimPath = z
  .union([z.string().min(1).max(2048), z.array(z.string()).readonly()])
  .superRefine((value: ClaimPath, ctx) => {
    const issue = claimPathIssue(value);
    if (issue !== undefined) ctx.addIssue({ code: 'custom', message: issue });
  });

const roleSchema = z.enum(roles);

const claimsSchema = z
  .object({
    /** The caller's stable id (required in every token; a token without it is refused). */
    subject: claimPath.default('sub'),
    /**
     * The caller's team. Optional in a token (a global admin may have none); whether a surface
     * needs it is that surface's decision.
     */
    team: claimPath.default('team'),
    /** The caller's roles or groups: a string or an array of strings, mapped by `roleMap`. */
    roles: claimPath.default('roles'),
    /** The caller's email, for audit entries; optional. */
    email: claimPath.default('email'),
  })
  .strict();

const ms = (max: number): z.ZodNumber => z.number().int().max(max);

export const jwtIdentitySchema = z
  .object({
    /**
     * The identity provider's issuer URL, compared exactly (trailing slash included) with the
     * token's `iss`. https; http only to a loopback host.
     */
    issuer: endpointUrl.refine((u) => !u.includes('?'), 'must not have a query'),
    /** Accepted `aud` values: the token must name at least one of them. */
    audience: z.union([z.string().min(1).max(1024), z.array(z.string().min(1).max(1024)).min(1).max(32)]),
    /**
     * Where the signing keys are published. Without it, OIDC discovery
     * (`${issuer}/.well-known/openid-configuration`) gives `jwks_uri`, which must be https too.
     */
    jwksUrl: endpointUrl.optional(),
    /** Signature algorithms accepted; only asymmetric ones exist here (`none` and HS* are refused). */
    algorithms: z.array(algorithm).min(1).default(['RS256', 'ES256', 'EdDSA']),
    /** Leeway for `exp` and `nbf`, for clocks that disagree a little. */
    clockToleranceSeconds: z.number().int().min(0).max(300).default(30),
    /**
     * Where each claim is found: a dot path (`realm_access.roles`) or, for names holding dots,
     * colons or slashes (namespaced claims), an array of literal segments
     * (`["https://example.com/team"]`).
     */
    claims: claimsSchema.prefault({}),
    /**
     * IdP role or group values to gateway roles (`admin`, `team_admin`, `member`, `viewer`). Set,
     * only the values listed count; unset, values that are already role names count as they are.
     * Unknown values are ignored either way.
     */
    roleMap: z.record(z.string().min(1).max(256), roleSchema).optional(),
    /** The role of a token whose roles claim yields no role (absent, or no value maps to one). */
    defaultRole: roleSchema.default('member'),
    /**
     * Least time between two JWKS fetches (successful or not) after the first: a token naming an
     * unknown key refetches the set at most this often, so a flood of made-up key ids costs one fetch.
     */
    jwksCooldownMs: ms(3_600_000).min(1_000).default(30_000),
    /** Keys older than this are refetched before use (kept if the refetch fails). */
    jwksCacheMaxAgeMs: ms(86_400_000).min(1_000).default(600_000),
    /** Deadline of one key refresh (discovery and JWKS together); a request waits at most this long for keys. */
    fetchTimeoutMs: ms(60_000).min(100).default(5_000),
    /** Verified tokens remembered (until their `exp`) so a repeated token skips signature checks; the oldest is dropped first. */
    cacheMaxEntries: z.number().int().min(0).max(1_000_000).default(10_000),
  })
  .strict();

/** Signing in to the web console (/ui) with the identity provider. */
export const consoleSignInSchema = z
  .object({
    /**
     * The console's client id at the identity provider: a public client (no secret; PKCE), whose
     * redirect URI is `<gateway origin>/ui/oidc/callback`. Sent to the page, so never a secret.
     */
    clientId: z.string().min(1).max(256),
    /** Scopes asked for; the access token the provider returns must be a JWT for `jwt.audience`. */
    scopes: z.array(z.string().min(1).max(128).regex(/^[\x21\x23-\x5b\x5d-\x7e]+$/, 'must be a scope token (no spaces or quotes)')).min(1).max(32).default(['openid', 'profile', 'email']),
  })
  .strict();

export const identitySchema = z
  .object({
    /** JWT access tokens from the company's identity provider (OIDC). */
    jwt: jwtIdentitySchema,
    /** Sign-in to the web console with the provider (authorization code + PKCE, discovery from `jwt.issuer`); unset, the console takes a pasted credential only. */
    console: consoleSignInSchema.optional(),
  })
  .strict();

export type IdentityConfigInput = z.input<typeof identitySchema>;
export type IdentityConfig = z.output<typeof identitySchema>;
export type JwtIdentityConfigInput = z.input<typeof jwtIdentitySchema>;
export type JwtIdentityConfig = z.output<typeof jwtIdentitySchema>;
export type ClaimPathsConfig = z.output<typeof claimsSchema>;
