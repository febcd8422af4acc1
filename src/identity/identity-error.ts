/** Why a token was refused. Each reason has one fixed message, safe to show a client. */
export type IdentityErrorReason =
  | 'malformed'
  | 'expired'
  | 'not_yet_valid'
  | 'issuer'
  | 'audience'
  | 'signature'
  | 'algorithm'
  | 'unknown_key'
  | 'jwks_unavailable'
  | 'missing_claim';

/**
 * Fixed messages: none of them repeats anything from the token (not even its claims), so a
 * message can go into an error body or a log line as it is.
 */
const messages: Readonly<Record<IdentityErrorReason, string>> = {
  malformed: 'The access token is not a well-formed JWT.',
  expired: 'The access token has expired.',
  not_yet_valid: 'The access token is not valid yet (nbf is in the future).',
  issuer: 'The access token was not issued by the configured identity provider.',
  audience: 'The access token is not intended for this service (audience).',
  signature: 'The access token signature is invalid.',
  algorithm: 'The access token is signed with an algorithm that is not accepted.',
  unknown_key: 'The access token is signed with a key the identity provider does not publish.',
  jwks_unavailable: "The identity provider's signing keys could not be fetched; try again later.",
  missing_claim: 'The access token lacks a required claim.',
};

/**
 * A refused token. `message` is safe for clients; `detail` is for operators' logs (URLs, HTTP
 * statuses, the claim path that was missing) and, like `message`, never holds the token or its
 * claim values.
 */
export class IdentityError extends Error {
  readonly reason: IdentityErrorReason;
  readonly detail: string | undefined;

  // No `cause`: jose's claim errors carry the whole claims set, which must not reach a log.
  constructor(reason: IdentityErrorReason, detail?: string) {
    super(messages[reason]);
    this.name = 'IdentityError';
    this.reason = reason;
    this.detail = detail;
  }
}
