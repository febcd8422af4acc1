import { createHash, randomBytes } from 'node:crypto';

/**
 * API key secrets: `sk-gw-` and 43 base64url characters (256 random bits). Only the SHA-256 digest
 * is stored; the data plane looks a presented key up by the same digest (auth/authenticator.ts).
 */
export const keyPrefix = 'sk-gw-';
/** Characters of a secret shown in lists (`sk-gw-` and 6 more): enough to tell keys apart, far too few to guess. */
const SHOWN = keyPrefix.length + 6;

export interface NewSecret {
  readonly secret: string;
  readonly digest: string;
  readonly prefix: string;
}

export function newSecret(): NewSecret {
  const secret = keyPrefix + randomBytes(32).toString('base64url');
  return { secret, digest: digestOf(secret), prefix: secret.slice(0, SHOWN) };
}

/** The digest a key is stored and looked up by (latin1, as the authenticator hashes headers). */
export function digestOf(secret: string): string {
  return createHash('sha256').update(secret, 'latin1').digest('hex');
}

/** Ids of rows made through the admin API: a kind and 16 random hex characters (`key_3f9c…`). */
export function newId(kind: 'key' | 'user'): string {
  return `${kind}_${randomBytes(8).toString('hex')}`;
}
