import { claimPathSegments, formatClaimPath, readClaim } from './claim-path.js';
import type { JwtIdentityConfig } from './config.js';
import { IdentityError } from './identity-error.js';
import { isRole, roles, type Role } from './roles.js';

/** Who a verified token names. Frozen; shared by every request that presents the same token. */
export interface VerifiedIdentity {
  /** The subject claim (the IdP's stable user or client id). */
  readonly subject: string;
  /** The configured issuer (the token's `iss`, which equals it). */
  readonly issuer: string;
  /** The team claim; undefined when the token has none (or not a usable string). */
  readonly team: string | undefined;
  /** Gateway roles, most privileged first, never empty (`defaultRole` when the token names none). */
  readonly roles: readonly Role[];
  readonly email?: string;
  /** The token's `exp`, in epoch milliseconds. */
  readonly expiresAtMs: number;
}

const maxSubjectLength = 1024;
const maxTeamLength = 256;
const maxEmailLength = 320;

/**
 * Reads the configured claims of a verified payload. A claim of the wrong type counts as absent;
 * only the subject is required. Loops run over the payload's own values, which the token length
 * bound (8 KiB) keeps small.
 */
export class ClaimMapper {
  readonly #issuer: string;
  readonly #subject: readonly string[];
  readonly #team: readonly string[];
  readonly #roles: readonly string[];
  readonly #email: readonly string[];
  readonly #roleMap: ReadonlyMap<string, Role> | undefined;
  readonly #defaultRoles: readonly Role[];

  constructor(config: JwtIdentityConfig) {
    this.#issuer = config.issuer;
    this.#subject = claimPathSegments(config.claims.subject);
    this.#team = claimPathSegments(config.claims.team);
    this.#roles = claimPathSegments(config.claims.roles);
    this.#email = claimPathSegments(config.claims.email);
    this.#roleMap = config.roleMap === undefined ? undefined : new Map(Object.entries(config.roleMap));
    this.#defaultRoles = Object.freeze([config.defaultRole]);
  }

  identity(payload: Readonly<Record<string, unknown>>, expiresAtMs: number): VerifiedIdentity {
    const subject = boundedString(readClaim(payload, this.#subject), maxSubjectLength);
    if (subject === undefined) throw new IdentityError('missing_claim', `no subject: claim ${formatClaimPath(this.#subject)} is absent or not a string of 1-${maxSubjectLength} characters`);
    const email = boundedString(readClaim(payload, this.#email), maxEmailLength);
    return Object.freeze({
      subject,
      issuer: this.#issuer,
      team: boundedString(readClaim(payload, this.#team), maxTeamLength),
      roles: this.#rolesOf(readClaim(payload, this.#roles)),
      ...(email === undefined ? {} : { email }),
      expiresAtMs,
    });
  }

  /** A string or an array of strings, mapped; values that map to no role are ignored. */
  #rolesOf(claim: unknown): readonly Role[] {
    const values = typeof claim === 'string' ? [claim] : Array.isArray(claim) ? claim : [];
    const found = new Set<Role>();
    for (const value of values) {
      if (typeof value !== 'string') continue;
      const role = this.#roleMap === undefined ? (isRole(value) ? value : undefined) : this.#roleMap.get(value);
      if (role !== undefined) found.add(role);
    }
    if (found.size === 0) return this.#defaultRoles;
    return Object.freeze(roles.filter((r) => found.has(r)));
  }
}

function boundedString(value: unknown, maxLength: number): string | undefined {
  return typeof value === 'string' && value.length > 0 && value.length <= maxLength ? value : undefined;
}
